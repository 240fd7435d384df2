// Issue 8, crash matrix: for each activity of training and deployment, a worker PROCESS is SIGKILLed
// during the activity (while one of its requests is held in flight by a per-worker proxy, or while its
// git command runs) and, separately, right after the activity completed; a new worker process takes
// over. Every run must complete, and every side effect must exist exactly once, read back from the
// emulators' APIs: one model, one experiment, one model version, one output commit, one deployment and
// one detector of each kind.
//
// Each cell has its own pipeline, task queue and worker processes, so cells run concurrently against
// one dev server and one emulator stack. A killed worker's in-flight attempt is retried by Temporal only
// after its timeout (heartbeat 1m, or start-to-close 2m for quick activities); by default the test
// reports the abandoned attempt as failed instead of waiting (see `expediteAbandoned`).
// Default: the 12 "during" cells and 4 "between" cells. CT_FULL_RELIABILITY=1: all 24 cells, each
// waiting for Temporal's real timeouts (measured: a heartbeat-timeout cell takes about 2 minutes).
//
// lookupModel, readModelInfo and getDeployedModel are local activities: they run inside a workflow task
// of the worker, with no activity task of their own. "During" one of them means while the workflow task
// running it is held on the killed worker: that task times out (10 s) and a workflow task on the new
// worker runs the local activity again; "between" means after its marker was recorded, so it is replayed
// from the history, never run again.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { ConnectionsConfig } from 'continuous-training/activities';
import { deploymentWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { EffectsReader, expectExactlyOnce, type Effects } from './helpers/effects';
import { InterceptProxy, type HoldRule } from './helpers/proxy';
import {
  FULL,
  activityAttempts,
  commitData,
  expediteAbandoned,
  startTestbed,
  uniquePipeline,
  waitForHistoryEvent,
  waitForPipeline,
  waitForRunningActivity,
  type PipelineRun,
  type Testbed,
} from './helpers/testbed';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process';

type System = 'pachd' | 'det' | 'seldon';
interface Target {
  activity: string;
  workflow: 'training' | 'deployment';
  /** A local activity: no activity task, a marker in the history instead. */
  local?: true;
  /** How "during" is made precise. */
  hold: { system: System; rule: (p: PipelineSpec) => HoldRule; afterStart?: boolean } | 'git';
}

const sd = (p: PipelineSpec) => `^/seldon-deploy/api/v1alpha1/namespaces/${p.deployment.namespace}/seldondeployments`;
const TARGETS: Target[] = [
  { activity: 'lookupModel', workflow: 'training', local: true, hold: { system: 'det', rule: () => ({ method: 'POST', path: /^\/api\/v1\/models$/, phase: 'response' }) } },
  { activity: 'diffCommit', workflow: 'training', hold: { system: 'pachd', rule: () => ({ method: 'POST', path: /(DiffFile|WalkFile)$/, phase: 'response' }) } }, // a first training walks the whole tree
  { activity: 'fetchExperiment', workflow: 'training', hold: 'git' },
  { activity: 'submitExperiment', workflow: 'training', hold: { system: 'det', rule: () => ({ method: 'POST', path: /^\/api\/v1\/experiments$/, phase: 'response' }) } },
  { activity: 'waitForExperiment', workflow: 'training', hold: { system: 'det', rule: () => ({ method: 'GET', path: /^\/api\/v1\/experiments\/\d+$/, phase: 'request' }), afterStart: true } },
  { activity: 'registerModelVersion', workflow: 'training', hold: { system: 'det', rule: () => ({ method: 'POST', path: /^\/api\/v1\/models\/[^/]+\/versions$/, phase: 'response' }) } },
  { activity: 'publishModel', workflow: 'training', hold: { system: 'pachd', rule: () => ({ method: 'POST', path: /FinishCommit$/, phase: 'response' }) } },
  { activity: 'readModelInfo', workflow: 'deployment', local: true, hold: { system: 'pachd', rule: () => ({ method: 'POST', path: /GetFile$/, phase: 'response' }) } },
  { activity: 'getDeployedModel', workflow: 'deployment', local: true, hold: { system: 'seldon', rule: (p) => ({ method: 'GET', path: new RegExp(`${sd(p)}/${p.deployment.name}$`), phase: 'response' }) } },
  { activity: 'deployModel', workflow: 'deployment', hold: { system: 'seldon', rule: (p) => ({ method: 'POST', path: new RegExp(`${sd(p)}$`), phase: 'response' }) } },
  { activity: 'waitForDeploymentReady', workflow: 'deployment', hold: { system: 'seldon', rule: (p) => ({ method: 'GET', path: new RegExp(`${sd(p)}/${p.deployment.name}$`), phase: 'request' }), afterStart: true } },
  { activity: 'replaceDetector', workflow: 'deployment', hold: { system: 'seldon', rule: (p) => ({ method: 'POST', path: new RegExp(`${sd(p)}/${p.deployment.name}/monitor/drift-detector$`), phase: 'response' }) } },
];

type Mode = 'during' | 'between';
interface Cell {
  target: Target;
  mode: Mode;
  /** Wait for Temporal's own timeout instead of reporting the killed attempt as failed. */
  realTimeout: boolean;
}
/** By default "between" runs after the steps whose next step is a side effect of another system. */
const BETWEEN_DEFAULT = ['submitExperiment', 'publishModel', 'deployModel', 'replaceDetector'];
const CELLS: Cell[] = TARGETS.flatMap((target) =>
  (['during', 'between'] as const)
    .filter((mode) => FULL || mode === 'during' || BETWEEN_DEFAULT.includes(target.activity))
    .map((mode) => ({ target, mode, realTimeout: FULL })),
);

interface CellResult {
  pipeline: PipelineSpec;
  commit: string;
  run: PipelineRun;
  effects: Effects;
  /** Attempts of the target activity (one entry per scheduled activity). */
  attempts: number[];
  /** The worker that was killed was running the target activity at that moment. */
  runningOnKilledWorker: boolean | null;
  killedIdentity: string;
  /** For a local activity: its markers, and the workflow tasks that were abandoned (timed out or failed). */
  local: LocalActivityRuns | null;
  expedited: string[];
  log: string[];
}

let tb: Testbed;
let reader: EffectsReader;
let gitWrapperDir: string;
const proxies: InterceptProxy[] = [];
const results = new Map<string, Promise<CellResult>>();
const cellName = (c: Cell) => `${c.mode} ${c.target.activity}`;

function limit(concurrency: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

beforeAll(async () => {
  tb = await startTestbed();
  reader = new EffectsReader(tb.stack.connections);
  // `git` for the worker that must die during fetchExperiment: the first call leaves a marker and
  // waits until the test (after the kill) releases it, so the kill lands while git runs.
  gitWrapperDir = path.join(tb.stateDir, 'git-wrapper');
  fs.mkdirSync(gitWrapperDir);
  const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
  fs.writeFileSync(
    path.join(gitWrapperDir, 'git'),
    `#!/bin/sh\nif [ -n "$CT_REL_GIT_MARKER" ] && [ ! -e "$CT_REL_GIT_MARKER" ]; then\n  : > "$CT_REL_GIT_MARKER"\n  while [ ! -e "$CT_REL_GIT_MARKER.release" ]; do sleep 0.1; done\nfi\nexec ${realGit} "$@"\n`,
    { mode: 0o755 },
  );
  const run = limit(FULL ? CELLS.length : 8);
  CELLS.forEach((cell, i) => {
    const p = run(() => runCell(cell, i));
    p.catch(() => undefined);
    results.set(cellName(cell), p);
  });
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(results.values());
  for (const p of proxies) await p.close();
  await tb?.close();
}, 120_000);

async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runCell(cell: Cell, index: number): Promise<CellResult> {
  const { client, stack } = tb;
  const log: string[] = [];
  const id = `crash-${index}-${cell.mode === 'during' ? 'd' : 'b'}-${cell.target.activity.toLowerCase()}`;
  const taskQueue = id;
  const pipeline = uniquePipeline(stack, id);
  const proxy = { pachd: await InterceptProxy.start(stack.pachd.url), det: await InterceptProxy.start(stack.determined.url), seldon: await InterceptProxy.start(stack.seldon.url) };
  proxies.push(proxy.pachd, proxy.det, proxy.seldon);
  const c = stack.connections;
  const connections: ConnectionsConfig = {
    ...c,
    pachyderm: { ...c.pachyderm, url: proxy.pachd.url },
    determined: { ...c.determined, url: proxy.det.url },
    seldon: { ...c.seldon, url: proxy.seldon.url },
  };
  const marker = path.join(tb.stateDir, `${id}.git-marker`);
  const gitHold = cell.mode === 'during' && cell.target.hold === 'git';
  const w1 = await spawnWorker({
    temporalAddress: tb.env.address,
    taskQueue,
    connections,
    env: gitHold ? { PATH: `${gitWrapperDir}:${process.env.PATH}`, CT_REL_GIT_MARKER: marker } : {},
  });
  let w2: WorkerProcess | null = null;
  try {
    tb.watch([pipeline], taskQueue);
    const hold = cell.target.hold;
    let held: Promise<void> | null = null;
    if (cell.mode === 'during' && hold !== 'git' && !hold.afterStart) held = proxy[hold.system].arm(hold.rule(pipeline));
    const commit = await commitData(stack, pipeline, 1);
    const trainingId = trainingWorkflowId(pipeline.modelName, commit);
    const workflowId =
      cell.target.workflow === 'training' ? trainingId : deploymentWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name, await outputCommitOf(trainingId));

    let runningOnKilledWorker: boolean | null = null;
    if (cell.mode === 'during') {
      if (hold === 'git') {
        await waitForFile(marker, 120_000);
      } else {
        if (hold.afterStart) {
          await waitForRunningActivity(client, workflowId, cell.target.activity);
          held = proxy[hold.system].arm(hold.rule(pipeline));
        }
        await held;
      }
      if (cell.target.local) {
        // No activity task to look at: the held request can only come from w1's workflow task (checked
        // afterwards in the history: that task was abandoned).
        log.push(`killing ${w1.identity} during local activity ${cell.target.activity}`);
      } else {
        const running = await waitForRunningActivity(client, workflowId, cell.target.activity, 10_000);
        runningOnKilledWorker = running.lastWorkerIdentity === w1.identity;
        log.push(`killing ${w1.identity} during ${cell.target.activity} (attempt ${running.attempt})`);
      }
    } else {
      // Once every scheduled activity of the type completed: the two detectors run concurrently, and
      // "between" means after the step, not in the middle of the other detector.
      const scheduled = new Map<string, string>();
      let pending = 0;
      await waitForHistoryEvent(client, workflowId, (e) => {
        if (cell.target.local) return localActivityType(e) === cell.target.activity;
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
        if (type) scheduled.set(String(e.eventId), type);
        if (type === cell.target.activity) pending++;
        const done = e.activityTaskCompletedEventAttributes;
        return !!done && scheduled.get(String(done.scheduledEventId)) === cell.target.activity && --pending === 0;
      });
      log.push(`killing ${w1.identity} after ${cell.target.activity} completed`);
    }
    await w1.kill();
    for (const p of Object.values(proxy)) {
      p.disarm();
      p.releaseHeld();
    }
    if (gitHold) fs.writeFileSync(`${marker}.release`, '');
    w2 = await spawnWorker({ temporalAddress: tb.env.address, taskQueue, connections });
    const expedited = cell.realTimeout ? [] : await expediteAbandoned(client, taskQueue, w1.identity);
    log.push(`expedited: ${expedited.join(', ') || 'none'}`);
    const run = await waitForPipeline(client, pipeline, commit, 300_000);
    const effects = await reader.read(pipeline);
    const local = cell.target.local ? await localActivityRuns(client, workflowId, cell.target.activity) : null;
    const attempts = local ? local.markers.map((m) => m.attempt) : await activityAttempts(client, workflowId, cell.target.activity);
    return { pipeline, commit, run, effects, attempts, runningOnKilledWorker, killedIdentity: w1.identity, local, expedited, log };
  } finally {
    await w1.kill();
    await w2?.kill();
  }
}

/** The activity type of a local activity marker, or null for any other event. */
function localActivityType(e: temporal.api.history.v1.IHistoryEvent): string | null {
  const marker = e.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return null;
  return localActivityData(marker).activity_type;
}

function localActivityData(marker: temporal.api.history.v1.IMarkerRecordedEventAttributes): { activity_type: string; attempt: number } {
  const data = marker.details?.data?.payloads?.[0]?.data;
  return JSON.parse(Buffer.from(data ?? []).toString('utf8')) as { activity_type: string; attempt: number };
}

interface LocalActivityRuns {
  /** One per recorded result: its attempt and the worker whose workflow task recorded it. */
  markers: { attempt: number; recordedBy: string }[];
  /** Workers whose workflow tasks timed out or failed. */
  abandonedBy: string[];
}

/** From a closed workflow's history: where a local activity's results were recorded, and which workflow tasks were abandoned. */
async function localActivityRuns(client: Testbed['client'], workflowId: string, activityType: string): Promise<LocalActivityRuns> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const identityOf = new Map<string, string>();
  const runs: LocalActivityRuns = { markers: [], abandonedBy: [] };
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.workflowTaskStartedEventAttributes) identityOf.set(id, e.workflowTaskStartedEventAttributes.identity ?? '');
    if (e.workflowTaskCompletedEventAttributes) identityOf.set(id, e.workflowTaskCompletedEventAttributes.identity ?? '');
    const abandoned = e.workflowTaskTimedOutEventAttributes ?? e.workflowTaskFailedEventAttributes;
    if (abandoned) runs.abandonedBy.push(identityOf.get(String(abandoned.startedEventId)) ?? '?');
    const marker = e.markerRecordedEventAttributes;
    if (marker && localActivityType(e) === activityType) {
      runs.markers.push({ attempt: localActivityData(marker).attempt, recordedBy: identityOf.get(String(marker.workflowTaskCompletedEventId)) ?? '?' });
    }
  }
  return runs;
}

/** The output commit, as soon as publishModel completed (the deployment workflow starts right after). */
async function outputCommitOf(trainingId: string): Promise<string> {
  const scheduled = new Map<string, string>();
  const event = await waitForHistoryEvent(tb.client, trainingId, (e) => {
    if (e.activityTaskScheduledEventAttributes) scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    const done = e.activityTaskCompletedEventAttributes;
    return !!done && scheduled.get(String(done.scheduledEventId)) === 'publishModel';
  });
  const payload = event.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
  if (!payload) throw new Error('publishModel completed without a result');
  return defaultPayloadConverter.fromPayload<{ outputCommit: string }>(payload).outputCommit;
}

describe.each(['during', 'between'] as const)('SIGKILL %s the activity, then a new worker process', (mode) => {
  test.each(CELLS.filter((c) => c.mode === mode).map((c) => [c.target.activity, c] as const))('%s', async (_activity, cell) => {
    const result = await results.get(cellName(cell))!;
    const where = `${result.pipeline.name}: ${result.log.join('; ')}`;
    // The run completed: trained, published, deployed with both detectors.
    expect({ where, training: result.run.training.status, deployment: result.run.deployment?.status }).toEqual({ where, training: 'trained', deployment: 'deployed' });
    expectExactlyOnce(result.effects, [result.commit]);
    if (mode === 'during' && result.local) {
      // The kill landed while the killed worker's workflow task ran this local activity (that task was
      // abandoned), and a workflow task on the new worker ran it and recorded its one result.
      expect(result.local.abandonedBy).toContain(result.killedIdentity);
      expect(result.local.markers).toHaveLength(1);
      expect(result.local.markers[0].recordedBy).not.toBe(result.killedIdentity);
    } else if (mode === 'during') {
      // The kill landed while this very activity ran on the killed worker, and a later attempt finished it.
      expect(result.runningOnKilledWorker).toBe(true);
      expect(Math.max(...result.attempts)).toBeGreaterThanOrEqual(2);
    } else {
      // A completed step is never redone after a crash (a local activity: one marker, replayed).
      expect(result.attempts.every((a) => a === 1)).toBe(true);
      if (result.local) expect(result.local.markers).toHaveLength(1);
    }
  }, 420_000);
});
