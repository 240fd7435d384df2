// Issue 8, bad inputs, end to end: the real workflows on in-process workers with the real activities,
// the watcher, and the emulators. Every pipeline first deploys version 1, which answers predictions
// from a running model process; then it gets one bad input: a commit still open, a commit that only
// deletes, a commit that does not exist, an experiment ending in ERROR, a rollout whose model process
// crashes, a broken or master-rejected experiment config, an experiment directory above the model
// definition cap, or a worker configured with a wrong Determined password, Seldon client secret or
// Pachyderm token. Each must end in a clear typed failure (non-retryable where a retry cannot help,
// seen as a single attempt in the history) or a reasoned skip, with nothing half-done: no stray
// experiment, model version, output commit or deployment change, and version 1 still answering.
//
// Simulated runs (no Python) keep the file fast. The model server is a tiny runtime registered with
// the Seldon emulator (`PUT /__emulator/runtimes`): a real process per rollout, started from the
// deployment's graph parameters, answering `/health/ping` and predictions tagged with the registry
// version it was started for, so "version 1 still serves" is a real prediction, not an annotation.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { testWorkflowBundle } from 'continuous-training/test/helpers/workflow-bundle';
import { createActivities, type ConnectionsConfig } from 'continuous-training/activities';
import { ErrorType } from 'continuous-training/common/errors';
import { deploymentWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { predict } from '../../demo-data';
import { triggerCommit } from 'continuous-training/client/signals';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { runWatcher } from 'continuous-training/client/watcher';
import { PachdRestClient, putFiles, startPachydermEmulator, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { MAX_MODEL_DEFINITION_BYTES } from 'continuous-training/activities/determined/model-definition';
import type { TrainingResult } from 'continuous-training/workflows/training';
import type { DeploymentResult } from 'continuous-training/workflows/deployment';
import { EffectsReader, type Effects } from './helpers/effects';
import { activityAttempts, commitData, startTestbed, uniquePipeline, waitForPipeline, waitForRunningActivity, type Testbed } from './helpers/testbed';

const QUEUE = 'bad-inputs';
const PACHD_TOKEN = 'bad-inputs-pachd-token';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tb: Testbed;
let crashDir: string;
let authPachd: PachydermEmulator;
let workerCount = 0;
const workers = new Set<{ worker: Worker; done: Promise<void> }>();
const aborts: AbortController[] = [];
const watchers: Promise<void>[] = [];
const watcherLog: string[] = [];

/** One pipeline per case, with what it needs to reach its systems and its version-1 commit. */
interface Case {
  pipeline: PipelineSpec;
  taskQueue: string;
  connections: ConnectionsConfig;
  v1: string;
}
const cases: Record<string, Case> = {};
const CASES = ['unfinished', 'deletions', 'unknown', 'error', 'rollout', 'config', 'oversized', 'det-auth', 'seldon-auth', 'pachd-auth'] as const;
type CaseName = (typeof CASES)[number];
/** Cases whose workers are swapped for misconfigured ones: their own task queue. */
const OWN_QUEUE: CaseName[] = ['det-auth', 'seldon-auth', 'pachd-auth'];
const goodWorkers = new Map<CaseName, { worker: Worker; done: Promise<void> }>();

// The model server: serves the registry version named by its graph parameters; refuses to start
// (exit 3, a message on stderr) when a marker file names its deployment and version.
const TINY_RUNTIME = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const params = JSON.parse(process.env.PREDICTIVE_UNIT_PARAMETERS || '[]');
const version = String((params.find((p) => p.name === 'model_registry_version') || {}).value || '?');
const deployment = process.env.SELDON_DEPLOYMENT_ID || '?';
if (fs.existsSync(path.join(process.argv[2], deployment + '-v' + version))) {
  console.error('cannot load model version ' + version + ': checkpoint is corrupt');
  process.exit(3);
}
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url.startsWith('/health')) return res.end('pong');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data: { names: ['circle', 'square', 'triangle'], ndarray: [[0.5, 0.3, 0.2]] }, meta: { tags: { model_registry_version: version } } }));
  });
}).listen(Number(process.env.PREDICTIVE_UNIT_HTTP_SERVICE_PORT), '127.0.0.1');
`;

async function startWorker(taskQueue: string, connections: ConnectionsConfig): Promise<{ worker: Worker; done: Promise<void> }> {
  // worker/create-worker.ts's options, with the run's shared workflow bundle. A worker that replaces
  // another on the same task queue takes over at once: a worker's shutdown tells the server to stop
  // using its sticky queue. (No sticky cache, `maxCachedWorkflows: 0`, cost 10 s workflow-task
  // timeouts: SDK 1.24 evicted runs with local activities in flight and failed their next task as
  // nondeterministic.) Each worker has its own code cache, as separate pods do: workers sharing one
  // CT_CACHE_DIR race on its git repositories (see the report of issue 8, part 3).
  const cacheDir = path.join(tb.stateDir, `worker-cache-${++workerCount}`);
  const worker = await Worker.create({
    connection: tb.env.nativeConnection,
    namespace: 'default',
    taskQueue,
    ...testWorkflowBundle(),
    activities: createActivities({ ...connections, cacheDir }),
    shutdownGraceTime: '30s',
    maxHeartbeatThrottleInterval: '5s',
  });
  const entry = { worker, done: worker.run() };
  workers.add(entry);
  return entry;
}

async function stopWorker(entry: { worker: Worker; done: Promise<void> }): Promise<void> {
  if (entry.worker.getState() === 'RUNNING') entry.worker.shutdown();
  await entry.done.catch(() => undefined);
  workers.delete(entry);
}

function watch(c: Case): void {
  const abort = new AbortController();
  aborts.push(abort);
  watchers.push(
    runWatcher({
      client: tb.client,
      taskQueue: c.taskQueue,
      pipelines: [c.pipeline],
      pachd: new PachydermClient(c.connections),
      signal: abort.signal,
      retryDelayMs: 200,
      log: (event, fields) => {
        if (watcherLog.length < 2000) watcherLog.push(`${c.pipeline.name} ${event} ${JSON.stringify(fields)}`);
      },
    }).catch(() => undefined),
  );
}

/** A private copy of the example experiment's git repository, for cases that commit to it. */
function experimentRepoCopy(name: string): string {
  const dir = path.join(tb.stateDir, `experiment-${name}`);
  execFileSync('git', ['clone', '-q', tb.stack.experimentRepo, dir], { stdio: 'pipe' });
  return dir;
}

function gitCommit(dir: string, files: Record<string, string | Buffer>, message: string): void {
  for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=ct-test', '-c', 'user.email=ct-test@localhost', ...args], { cwd: dir, stdio: 'pipe' });
  git('add', '-A');
  git('commit', '-q', '-m', message);
}

async function commit(c: Case, n: number, opts: { files?: Record<string, string>; deletes?: string[] } = {}): Promise<string> {
  if (opts.deletes) {
    return putFiles({ url: c.connections.pachyderm.url, authToken: c.connections.pachyderm.token }, c.pipeline.input.repo, c.pipeline.input.branch, opts.files ?? {}, {
      description: `batch ${n}`,
      deletes: opts.deletes,
    });
  }
  if (c.connections.pachyderm.token) {
    const files: Record<string, string> = {};
    for (let i = 0; i < 3; i++) files[`/batch-${n}/img-${i}.txt`] = `${c.pipeline.name} batch ${n} image ${i}`;
    return putFiles({ url: c.connections.pachyderm.url, authToken: c.connections.pachyderm.token }, c.pipeline.input.repo, c.pipeline.input.branch, files, {
      description: `batch ${n}`,
    });
  }
  return commitData(tb.stack, c.pipeline, n, opts.files);
}

async function served(c: Case): Promise<string> {
  const answer = await predict(tb.stack.seldon.url, c.pipeline.deployment.namespace, c.pipeline.deployment.name, { data: { ndarray: [[0]] } });
  return answer.registryVersion;
}

function effects(c: Case): Promise<Effects> {
  return new EffectsReader(c.connections).read(c.pipeline);
}

/** Version 1 and nothing else: one experiment (on the v1 commit), one version, one output commit, one deployment serving 1. */
async function expectOnlyVersion1(c: Case, extraExperiments: { commit: string; state: string }[] = []): Promise<void> {
  const e = await effects(c);
  expect({
    experiments: e.experiments.map((x) => ({ commit: x.commit, state: x.state })).sort((a, b) => String(a.commit).localeCompare(String(b.commit))),
    versions: e.modelVersions,
    publishCommits: e.publishCommits.length,
    deployments: e.deployments.map((d) => ({ registryVersion: d.registryVersion, state: d.state })),
    detectors: [e.driftDetectors, e.outlierDetectors],
  }).toEqual({
    experiments: [{ commit: c.v1, state: 'STATE_COMPLETED' }, ...extraExperiments].sort((a, b) => a.commit.localeCompare(b.commit)),
    versions: [{ version: 1, commit: c.v1 }],
    publishCommits: 1,
    deployments: [{ registryVersion: '1', state: 'Available' }],
    detectors: [1, 1],
  });
  expect(await served(c)).toBe('1');
}

interface Failure {
  type: string | undefined;
  nonRetryable: boolean;
  message: string;
  /** Every message from the workflow failure down to the root cause. */
  chain: string;
  details: unknown[];
}

/** The workflow's failure: the innermost ApplicationFailure's type, retryability and message. */
async function failureOf(workflowId: string, timeoutMs = 120_000): Promise<Failure> {
  const deadline = Date.now() + timeoutMs;
  let err: unknown;
  for (;;) {
    try {
      const result: unknown = await tb.client.workflow.getHandle(workflowId).result();
      throw new Error(`${workflowId} did not fail: ${JSON.stringify(result)}`);
    } catch (e) {
      if ((e as Error).name === 'WorkflowNotFoundError' && Date.now() < deadline) {
        await sleep(200);
        continue;
      }
      err = e;
      break;
    }
  }
  const messages: string[] = [];
  let app: ApplicationFailure | undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    messages.push(e.message);
    if (e instanceof ApplicationFailure) app = e;
  }
  if (!app) throw err;
  return { type: app.type ?? undefined, nonRetryable: app.nonRetryable === true, message: app.message, chain: messages.join(' <- '), details: app.details ?? [] };
}

/** The training's result (not its deployment's). */
async function trainingOf(c: Case, commitId: string, timeoutMs = 120_000): Promise<TrainingResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await tb.client.workflow.getHandle(trainingWorkflowId(c.pipeline.modelName, commitId)).result()) as TrainingResult;
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError' || Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

beforeAll(async () => {
  tb = await startTestbed({
    determinedDelays: { queuedMs: 50, pullingMs: 50, startingMs: 50, runningMs: 300 },
    seldonAvailableDelayMs: 200,
  });
  crashDir = path.join(tb.stateDir, 'crash-markers');
  fs.mkdirSync(crashDir);
  const runtime = path.join(tb.stateDir, 'tiny-runtime.cjs');
  fs.writeFileSync(runtime, TINY_RUNTIME);
  const res = await fetch(`${tb.stack.seldon.url}/__emulator/runtimes`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ runtimes: [{ image: uniquePipeline(tb.stack, 'x').deployment.servingImage, command: [process.execPath, runtime, crashDir] }] }),
  });
  if (!res.ok) throw new Error(`registering the runtime: ${res.status} ${await res.text()}`);

  // Pachyderm with auth on, for the wrong-token case (the shared stack's pachd has none).
  authPachd = await startPachydermEmulator({ stateDir: path.join(tb.stateDir, 'pachd-auth'), port: 0, grpcPort: 0, log: null, authToken: PACHD_TOKEN });

  for (const name of CASES) {
    const pipeline = uniquePipeline(tb.stack, `bad-${name}`);
    let connections = tb.stack.connections;
    if (name === 'pachd-auth') {
      connections = { ...connections, pachyderm: { ...connections.pachyderm, url: authPachd.url, token: PACHD_TOKEN } };
    }
    if (name === 'config' || name === 'oversized') pipeline.experiment = { ...pipeline.experiment, gitUrl: experimentRepoCopy(name) };
    cases[name] = { pipeline, connections, taskQueue: OWN_QUEUE.includes(name) ? `${QUEUE}-${name}` : QUEUE, v1: '' };
  }
  await startWorker(QUEUE, tb.stack.connections);
  for (const name of OWN_QUEUE) goodWorkers.set(name, await startWorker(cases[name].taskQueue, cases[name].connections));
  for (const c of Object.values(cases)) watch(c);

  // Version 1 of every pipeline, concurrently.
  await Promise.all(
    Object.values(cases).map(async (c) => {
      c.v1 = await commit(c, 1);
      const run = await waitForPipeline(tb.client, c.pipeline, c.v1);
      if (run.deployment?.status !== 'deployed') throw new Error(`${c.pipeline.name}: version 1 not deployed: ${JSON.stringify(run)}`);
    }),
  );
}, 180_000);

afterAll(async () => {
  for (const a of aborts) a.abort();
  await Promise.all(watchers);
  await Promise.all([...workers].map(stopWorker));
  await authPachd?.close();
  await tb?.close();
}, 120_000);

test('every pipeline starts from version 1 deployed and answering predictions', async () => {
  for (const name of CASES) {
    expect(await served(cases[name])).toBe('1');
  }
  await expectOnlyVersion1(cases.unknown);
});

test('an unfinished commit: the diff waits for it (version 1 serving meanwhile), then trains once it finishes', async () => {
  const c = cases.unfinished;
  const pachd = new PachdRestClient({ url: c.connections.pachyderm.url });
  const repo = { name: c.pipeline.input.repo, type: 'user', project: { name: c.pipeline.input.project } };
  const open = await pachd.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo, name: c.pipeline.input.branch } });
  // Pachyderm's own trigger (`ct trigger --commit $PACH_JOB_ID`) can name a commit before it finishes;
  // the watcher, which only follows finished commits, cannot.
  await triggerCommit(tb.client, c.taskQueue, c.pipeline, open.id);
  const workflowId = trainingWorkflowId(c.pipeline.modelName, open.id);

  const deadline = Date.now() + 60_000;
  let heartbeat: unknown = null;
  while (!heartbeat) {
    const pending = await waitForRunningActivity(tb.client, workflowId, 'diffCommit');
    const payload = pending.heartbeatDetails?.payloads?.[0];
    if (payload) heartbeat = defaultPayloadConverter.fromPayload(payload);
    else if (Date.now() > deadline) throw new Error('diffCommit never heartbeated');
    else await sleep(100);
  }
  expect(heartbeat).toEqual({ phase: 'waiting-for-commit', commit: open.id });
  await sleep(1500); // still waiting a while later: no experiment for an open commit
  expect((await tb.client.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');
  expect(await activityAttempts(tb.client, workflowId, 'submitExperiment')).toEqual([]);
  expect((await effects(c)).experiments.map((e) => e.commit)).toEqual([c.v1]);
  expect(await served(c)).toBe('1');

  const ref = { repo, id: open.id };
  await pachd.modifyFile([{ setCommit: ref }, { addFile: { path: '/late/img-0.txt', raw: Buffer.from('a late image').toString('base64') } }]);
  await pachd.call('pfs_v2.API/FinishCommit', { commit: ref });

  const run = await waitForPipeline(tb.client, c.pipeline, open.id);
  expect(run.training).toMatchObject({ status: 'trained', baseCommit: c.v1, diff: { kind: 'data', added: { files: 1 } }, modelVersion: { version: 2 } });
  expect(run.deployment?.status).toBe('deployed');
  expect(await activityAttempts(tb.client, workflowId, 'diffCommit')).toEqual([1]); // one attempt waited throughout
  expect(await served(c)).toBe('2');
  const e = await effects(c);
  expect(e.experiments.map((x) => x.commit).sort()).toEqual([c.v1, open.id].sort());
  expect(e.modelVersions.map((v) => v.version).sort()).toEqual([1, 2]);
}, 90_000);

test('a deletion-only commit is skipped with a reason: nothing submitted, version 1 still serves', async () => {
  const c = cases.deletions;
  const id = await commit(c, 2, { deletes: ['/batch-1/img-0.txt'] });
  const training = await trainingOf(c, id);
  expect(training).toMatchObject({
    status: 'skipped',
    reason: 'the commit only deletes files: nothing new to train on',
    diff: { kind: 'deletions-only', deleted: { files: 1 }, added: { files: 0 }, modified: { files: 0 }, baseCommit: c.v1 },
  });
  const workflowId = trainingWorkflowId(c.pipeline.modelName, id);
  expect(await activityAttempts(tb.client, workflowId, 'fetchExperiment')).toEqual([]);
  expect(await activityAttempts(tb.client, workflowId, 'submitExperiment')).toEqual([]);
  await expectOnlyVersion1(c);
}, 60_000);

test('an unknown commit is a non-retryable InvalidCommit after one attempt: nothing submitted, version 1 still serves', async () => {
  const c = cases.unknown;
  const ghost = crypto.randomBytes(16).toString('hex');
  await triggerCommit(tb.client, c.taskQueue, c.pipeline, ghost);
  const workflowId = trainingWorkflowId(c.pipeline.modelName, ghost);
  const failure = await failureOf(workflowId);
  expect(failure).toMatchObject({ type: ErrorType.InvalidCommit, nonRetryable: true });
  expect(failure.message).toContain(`cannot use commit default/${c.pipeline.input.repo}@${ghost}`);
  expect(await activityAttempts(tb.client, workflowId, 'diffCommit')).toEqual([1]);
  expect(await activityAttempts(tb.client, workflowId, 'submitExperiment')).toEqual([]);
  await expectOnlyVersion1(c);
}, 60_000);

test('an experiment ending in ERROR fails the training with ExperimentFailed: nothing registered or published, version 1 still serves', async () => {
  const c = cases.error;
  const setOutcomes = async (rules: unknown[]) => {
    const res = await fetch(`${tb.stack.determined.url}/__emulator/outcomes`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
    if (!res.ok) throw new Error(`outcomes: ${res.status} ${await res.text()}`);
  };
  await setOutcomes([{ label: `^${c.pipeline.name}$`, outcome: 'ERROR' }]);
  try {
    const id = await commit(c, 2);
    const workflowId = trainingWorkflowId(c.pipeline.modelName, id);
    const failure = await failureOf(workflowId);
    expect(failure).toMatchObject({ type: ErrorType.ExperimentFailed, nonRetryable: true });
    expect(failure.message).toMatch(/^experiment \d+ ended in ERROR: nothing registered or published$/);
    expect(await activityAttempts(tb.client, workflowId, 'submitExperiment')).toEqual([1]);
    expect(await activityAttempts(tb.client, workflowId, 'registerModelVersion')).toEqual([]);
    expect(await activityAttempts(tb.client, workflowId, 'publishModel')).toEqual([]);
    await expectOnlyVersion1(c, [{ commit: id, state: 'STATE_ERROR' }]);
  } finally {
    await setOutcomes([]);
  }
}, 60_000);

test('a rollout whose model server crashes is a DeploymentFailed, rolled back: version 1 still serves and answers', async () => {
  const c = cases.rollout;
  fs.writeFileSync(path.join(crashDir, `${c.pipeline.deployment.name}-v2`), '');
  const id = await commit(c, 2);
  const training = await trainingOf(c, id);
  expect(training).toMatchObject({ status: 'trained', modelVersion: { version: 2 } });
  if (training.status !== 'trained') return;
  const workflowId = deploymentWorkflowId(c.pipeline.deployment.namespace, c.pipeline.deployment.name, training.outputCommit);
  const failure = await failureOf(workflowId);
  expect(failure).toMatchObject({ type: ErrorType.DeploymentFailed, nonRetryable: true });
  expect(failure.message).toMatch(new RegExp(`^deployment of ${c.pipeline.modelName} version 2 failed \\(deployment seldon/${c.pipeline.deployment.name} failed: .*\\); rolled back to version 1$`, 's'));
  expect(failure.message).toContain('cannot load model version 2: checkpoint is corrupt');
  expect((failure.details[0] as DeploymentResult).status).toBe('rolled-back');
  // The wait for the new rollout ran once (its failure is final), then the wait for the rollback.
  expect(await activityAttempts(tb.client, workflowId, 'waitForDeploymentReady')).toEqual([1, 1]);
  expect(await activityAttempts(tb.client, workflowId, 'replaceDetector')).toEqual([]);

  const e = await effects(c);
  expect(e.modelVersions.map((v) => v.version).sort()).toEqual([1, 2]); // trained and registered: the rollout failed
  expect(e.deployments).toEqual([expect.objectContaining({ registryVersion: '1', outputCommit: expect.any(String), state: 'Available' })]);
  expect(e.deployments[0].outputCommit).not.toBe(training.outputCommit);
  expect([e.driftDetectors, e.outlierDetectors]).toEqual([1, 1]);
  expect(await served(c)).toBe('1');
}, 90_000);

test('a broken experiment config in the git repository is a non-retryable InvalidConfig; so is one the master rejects', async () => {
  const c = cases.config;
  const repo = c.pipeline.experiment.gitUrl;
  const good = fs.readFileSync(path.join(repo, 'const.yaml'), 'utf8');

  gitCommit(repo, { 'const.yaml': `${good}\nsearcher: [unclosed\n` }, 'break const.yaml');
  const broken = await commit(c, 2);
  let workflowId = trainingWorkflowId(c.pipeline.modelName, broken);
  let failure = await failureOf(workflowId);
  expect(failure).toMatchObject({ type: ErrorType.InvalidConfig, nonRetryable: true });
  expect(failure.message).toMatch(/^experiment config const\.yaml in .* is not valid YAML: /);
  expect(await activityAttempts(tb.client, workflowId, 'fetchExperiment')).toEqual([1]);
  expect(await activityAttempts(tb.client, workflowId, 'submitExperiment')).toEqual([]);

  // Valid YAML that Determined's schema refuses: the master's 400 becomes an InvalidConfig naming the field.
  gitCommit(repo, { 'const.yaml': good.replace('max_restarts: 0', 'max_restarts: many') }, 'max_restarts is not a number');
  const rejected = await commit(c, 3);
  workflowId = trainingWorkflowId(c.pipeline.modelName, rejected);
  failure = await failureOf(workflowId);
  expect(failure).toMatchObject({ type: ErrorType.InvalidConfig, nonRetryable: true });
  expect(failure.message).toMatch(/^Determined rejected the experiment config const\.yaml: .*HTTP 400.*max_restarts/s);
  expect(await activityAttempts(tb.client, workflowId, 'submitExperiment')).toEqual([1]);

  await expectOnlyVersion1(c);
}, 60_000);

test('an experiment directory above the 96 MiB model definition cap is a non-retryable InvalidConfig before anything is uploaded', async () => {
  const c = cases.oversized;
  const repo = c.pipeline.experiment.gitUrl;
  gitCommit(repo, { 'weights.bin': Buffer.alloc(MAX_MODEL_DEFINITION_BYTES + 1024 * 1024) }, 'a large file not in .detignore');
  const id = await commit(c, 2);
  const workflowId = trainingWorkflowId(c.pipeline.modelName, id);
  const failure = await failureOf(workflowId);
  expect(failure).toMatchObject({ type: ErrorType.InvalidConfig, nonRetryable: true });
  expect(failure.message).toMatch(new RegExp(`^the experiment directory holds \\d+ bytes, more than the ${MAX_MODEL_DEFINITION_BYTES} a model definition may have: list data and large files in \\.detignore$`));
  expect(await activityAttempts(tb.client, workflowId, 'submitExperiment')).toEqual([1]);
  await expectOnlyVersion1(c);
}, 90_000);

describe('a worker configured with wrong credentials: non-retryable Unauthenticated after one attempt, nothing half-done', () => {
  /** Replaces the case's worker by one with `wrong` connections, commits batch 2 and returns its training workflow id. */
  async function withWrongWorker(name: CaseName, wrong: ConnectionsConfig): Promise<{ c: Case; id: string; stop: () => Promise<void> }> {
    const c = cases[name];
    const good = goodWorkers.get(name);
    if (good) await stopWorker(good);
    const bad = await startWorker(c.taskQueue, wrong);
    const id = await commit(c, 2);
    return { c, id, stop: () => stopWorker(bad) };
  }

  test('Determined: a wrong password fails the first call (lookupModel); no experiment', async () => {
    const base = cases['det-auth'].connections;
    const { c, id, stop } = await withWrongWorker('det-auth', { ...base, determined: { ...base.determined, password: 'not-the-password' } });
    try {
      const workflowId = trainingWorkflowId(c.pipeline.modelName, id);
      const failure = await failureOf(workflowId);
      expect(failure).toMatchObject({ type: ErrorType.Unauthenticated, nonRetryable: true });
      expect(failure.message).toMatch(/login.*HTTP 401: invalid credentials/);
      expect(failure.chain).not.toContain('not-the-password');
      expect(await activityAttempts(tb.client, workflowId, 'lookupModel')).toEqual([1]);
      expect(await activityAttempts(tb.client, workflowId, 'diffCommit')).toEqual([]);
    } finally {
      await stop();
    }
    await expectOnlyVersion1(c);
  }, 60_000);

  test('Pachyderm: a wrong token fails the diff (diffCommit); no experiment', async () => {
    const base = cases['pachd-auth'].connections;
    const { c, id, stop } = await withWrongWorker('pachd-auth', { ...base, pachyderm: { ...base.pachyderm, token: 'not-the-token' } });
    try {
      const workflowId = trainingWorkflowId(c.pipeline.modelName, id);
      const failure = await failureOf(workflowId);
      expect(failure).toMatchObject({ type: ErrorType.Unauthenticated, nonRetryable: true });
      expect(failure.message).toMatch(/InspectCommit.*HTTP 401.*auth token is corrupted or has expired/);
      expect(await activityAttempts(tb.client, workflowId, 'diffCommit')).toEqual([1]);
      expect(await activityAttempts(tb.client, workflowId, 'submitExperiment')).toEqual([]);
    } finally {
      await stop();
    }
    await expectOnlyVersion1(c);
  }, 60_000);

  test('Seldon: a wrong client secret fails the deployment before it touches the resource; version 1 still serves', async () => {
    const base = cases['seldon-auth'].connections;
    const { c, id, stop } = await withWrongWorker('seldon-auth', { ...base, seldon: { ...base.seldon, clientSecret: 'not-the-secret' } });
    try {
      // Training needs no Seldon: version 2 is trained, registered and published; its deployment fails.
      const training = await trainingOf(c, id);
      expect(training).toMatchObject({ status: 'trained', modelVersion: { version: 2 } });
      if (training.status !== 'trained') return;
      const workflowId = deploymentWorkflowId(c.pipeline.deployment.namespace, c.pipeline.deployment.name, training.outputCommit);
      const failure = await failureOf(workflowId);
      expect(failure).toMatchObject({ type: ErrorType.Unauthenticated, nonRetryable: true });
      expect(failure.message).toMatch(/client_credentials.*HTTP 401/);
      expect(failure.chain).not.toContain('not-the-secret');
      expect(await activityAttempts(tb.client, workflowId, 'getDeployedModel')).toEqual([1]);
      expect(await activityAttempts(tb.client, workflowId, 'deployModel')).toEqual([]);
    } finally {
      await stop();
    }
    const e = await effects(c);
    expect(e.deployments).toEqual([expect.objectContaining({ registryVersion: '1', outputCommit: expect.any(String), state: 'Available' })]);
    expect([e.driftDetectors, e.outlierDetectors]).toEqual([1, 1]);
    expect(await served(c)).toBe('1');
  }, 60_000);
});
