// One commit through the product, as the orchestration and throughput benchmarks drive it: signal-with-start
// of the repository workflow (client/signals.ts); the cascade as the watcher does it (SubscribeCommit on the
// output branch → requestDeploy), so nothing reads the running workflows; then the deployment's close,
// checked with a slow describe() poll. Timings come from the server's start/close times and, afterwards, the
// workflows' status queries and histories. (A client long-polling result(), or describing a workflow every
// 20 ms, delays each of its workflow tasks by 20-30 ms on the dev server: see RESULTS.md.)
import type { Client, WorkflowHandle } from '@temporalio/client';
import { requestDeploy, triggerCommit } from 'continuous-training/client/signals';
import { deploymentWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { PachdRestClient } from '@continuous-training/emulators/pachyderm/client';
import type { TrainingStatus } from 'continuous-training/workflows/training';
import type { DeploymentStatus } from 'continuous-training/workflows/deployment';
import type { StepTiming } from './direct';
import { sleep } from './harness';

/** A workflow step: its duration, and when it ran (ms from just before the signal; steps may overlap). */
export interface OrchestratedStep extends StepTiming {
  startMs: number;
  endMs: number;
}

export interface OrchestratedRun {
  commit: string;
  /** Epoch ms just before the signal. */
  startedAt: number;
  outputCommit: string;
  steps: OrchestratedStep[];
  /** Milliseconds from just before the signal. */
  trainingClosedMs: number;
  deploymentStartedMs: number;
  availableMs: number;
  doneMs: number;
  /** Per activity of both workflows, in order, from their histories. */
  phases: ActivityPhases[];
}

/**
 * The watcher's deployment half for one pipeline: follows SubscribeCommit (FINISHED) on the output branch
 * and signals-with-start the deployer for every new commit (reconnecting while the repo does not exist yet).
 */
export class Cascade {
  private readonly abort = new AbortController();
  private readonly known = new Set<string>();
  private readonly forwarded: string[] = [];
  private readonly waiting: ((commit: string) => void)[] = [];
  readonly done: Promise<void>;

  constructor(pachdUrl: string, client: Client, taskQueue: string, pipeline: PipelineSpec) {
    const pachd = new PachdRestClient(pachdUrl);
    const repo = { name: pipeline.output.repo, type: 'user', project: { name: pipeline.output.project } };
    this.done = (async () => {
      let delay = 20;
      while (!this.abort.signal.aborted) {
        // One AbortController per connection, so reconnects do not pile listeners on the main signal.
        const attempt = new AbortController();
        const stop = () => attempt.abort();
        this.abort.signal.addEventListener('abort', stop, { once: true });
        try {
          const stream = pachd.stream<{ commit: { id: string } }>('pfs_v2.API/SubscribeCommit', { repo, branch: pipeline.output.branch, state: 'FINISHED' }, attempt.signal);
          for await (const info of stream) {
            delay = 20;
            const id = info.commit.id;
            if (this.known.has(id)) continue; // replayed after a reconnect
            this.known.add(id);
            await requestDeploy(client, taskQueue, pipeline, id, 'cascade');
            const w = this.waiting.shift();
            if (w) w(id);
            else this.forwarded.push(id);
          }
        } catch {
          // not created yet, or the stream broke: reconnect (20 ms, doubling up to 200 ms)
        } finally {
          this.abort.signal.removeEventListener('abort', stop);
          attempt.abort();
        }
        if (!this.abort.signal.aborted) await sleep(delay);
        delay = Math.min(delay * 2, 200);
      }
    })();
  }

  /** The next output commit forwarded to the deployer. */
  next(timeoutMs: number): Promise<string> {
    const ready = this.forwarded.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no output commit in time')), timeoutMs);
      this.waiting.push((c) => (clearTimeout(timer), resolve(c)));
    });
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

/** Waits until a workflow is closed, with a slow poll (the times reported come from the server). */
async function closed(client: Client, workflowId: string, timeoutMs: number, pollMs: number): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sleep(pollMs);
    const d = await handle.describe().catch((err: Error) => {
      if (/not found/i.test(err.message)) return null;
      throw err;
    });
    if (d && d.status.name !== 'RUNNING') {
      if (d.status.name !== 'COMPLETED') throw new Error(`${workflowId} ended ${d.status.name}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${workflowId} did not finish in time`);
  }
}

export async function runOrchestrated(
  client: Client,
  taskQueue: string,
  pipeline: PipelineSpec,
  cascade: Cascade,
  commit: string,
  opts: { withPhases?: boolean; timeoutMs?: number; pollMs?: number } = {},
): Promise<OrchestratedRun> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const t0 = Date.now();
  await triggerCommit(client, taskQueue, pipeline, commit);
  const trainingId = trainingWorkflowId(pipeline.modelName, commit);
  // A training that fails ends the run at once, rather than after the cascade's timeout.
  const trainingFailed = closed(client, trainingId, timeoutMs, opts.pollMs ?? 250).then(() => new Promise<never>(() => undefined));
  const outputCommit = await Promise.race([
    cascade.next(timeoutMs).catch(async (err: Error) => {
      const d = await client.workflow.getHandle(trainingId).describe().catch(() => null);
      throw new Error(`${err.message}: training ${trainingId} is ${d?.status.name ?? 'unknown'}`);
    }),
    trainingFailed,
  ]);
  const deployId = deploymentWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name, outputCommit);
  await closed(client, deployId, timeoutMs, opts.pollMs ?? 250);
  const withPhases = opts.withPhases ?? false;
  const trainingHandle = client.workflow.getHandle(trainingId);
  const deployHandle = client.workflow.getHandle(deployId);
  const [tDesc, dDesc, tStatus, dStatus] = await Promise.all([
    trainingHandle.describe(),
    deployHandle.describe(),
    queryStatus<TrainingStatus>(trainingHandle),
    queryStatus<DeploymentStatus>(deployHandle),
  ]);
  const since = (d: Date | string | undefined) => (d ? new Date(d).getTime() - t0 : NaN);
  const waitReady = dStatus.steps.find((s) => s.name === 'wait-ready');
  return {
    commit,
    outputCommit,
    startedAt: t0,
    steps: [...tStatus.steps, ...dStatus.steps].map((s) => ({ name: s.name, ms: s.durationMs ?? NaN, startMs: since(s.startedAt), endMs: since(s.endedAt) })),
    trainingClosedMs: since(tDesc.closeTime),
    deploymentStartedMs: since(dDesc.startTime),
    availableMs: since(waitReady?.endedAt),
    doneMs: since(dDesc.closeTime),
    phases: withPhases ? [...(await activityPhases(client, trainingId)), ...(await activityPhases(client, deployId))] : [],
  };
}

/** The time covered by at least one step (steps may overlap), in ms. */
export function stepsUnionMs(steps: { startMs: number; endMs: number }[]): number {
  const sorted = [...steps].sort((a, b) => a.startMs - b.startMs);
  let total = 0;
  let end = -Infinity;
  for (const s of sorted) {
    if (s.endMs <= end) continue;
    total += s.endMs - Math.max(s.startMs, end);
    end = s.endMs;
  }
  return total;
}

/**
 * Where an activity step's time goes, from the workflow's history (milliseconds per activity). Local
 * activities have no such events: they run inside a workflow task and leave a marker.
 */
export interface ActivityPhases {
  activity: string;
  /** Workflow task started → completed (the task whose commands schedule the activity). */
  scheduleTask: number;
  /** ActivityTaskScheduled → ActivityTaskStarted: the task reaching a worker. */
  dispatch: number;
  /** ActivityTaskStarted → ActivityTaskCompleted: running it and reporting the result. */
  execute: number;
  /** ActivityTaskCompleted → the next WorkflowTaskStarted: the result reaching the workflow. */
  resume: number;
  /** Whether the workflow task carrying the result went to the worker's sticky queue. */
  sticky: boolean;
}

export async function activityPhases(client: Client, workflowId: string): Promise<ActivityPhases[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = (history.events ?? []).map((e) => ({
    e,
    t: Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6),
  }));
  const out: ActivityPhases[] = [];
  for (let i = 0; i < events.length; i++) {
    if (!events[i].e.activityTaskScheduledEventAttributes) continue;
    const scheduled = events[i];
    const id = Number(scheduled.e.eventId);
    const taskCompleted = [...events.slice(0, i)].reverse().find((x) => x.e.workflowTaskCompletedEventAttributes);
    const taskStarted = [...events.slice(0, i)].reverse().find((x) => x.e.workflowTaskStartedEventAttributes);
    const started = events.find((x) => Number(x.e.activityTaskStartedEventAttributes?.scheduledEventId) === id);
    const completedIdx = events.findIndex((x) => Number(x.e.activityTaskCompletedEventAttributes?.scheduledEventId) === id);
    if (!started || completedIdx < 0 || !taskStarted || !taskCompleted) continue;
    const completed = events[completedIdx];
    const next = events.slice(completedIdx).find((x) => x.e.workflowTaskStartedEventAttributes);
    const nextScheduled = events.slice(completedIdx).find((x) => x.e.workflowTaskScheduledEventAttributes);
    out.push({
      activity: scheduled.e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
      scheduleTask: taskCompleted.t - taskStarted.t,
      dispatch: started.t - scheduled.t,
      execute: completed.t - started.t,
      resume: next ? next.t - completed.t : NaN,
      sticky: Number(nextScheduled?.e.workflowTaskScheduledEventAttributes?.taskQueue?.kind) === 2,
    });
  }
  return out;
}

/**
 * The status query of a closed workflow: the worker replays its history to answer. After a burst of 50 runs
 * the server may give up on some of a hundred such queries at once (CANCELLED, context canceled): ask again.
 */
async function queryStatus<T>(handle: WorkflowHandle, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await handle.query<T>('status');
    } catch (err) {
      if (attempt >= attempts) throw err;
      await sleep(1000 * attempt);
    }
  }
}
