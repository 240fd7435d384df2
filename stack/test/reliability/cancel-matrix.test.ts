// Issue 13 point 2 and issue 19 point 9, the cancel matrix: a training or a rollout is cancelled at each
// step (`ct cancel` of the run, not of the pipeline) while one request of that step is held in flight by
// a proxy in front of the emulator, or while the endpoint it polls answers 503 (a retry backoff). The end
// state is read back from the emulators: no experiment of the pipeline left active in Determined, and
// the deployment serving the previous version, Available, in Seldon. The repository or deployer
// workflow above records the run as cancelled and stays running.
//
// Not a separate cell: "between submit and wait" (no request is in flight there; the same cleanup
// covers it, since the deadline scope and its catch start before submitExperiment).
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { createWorker } from 'continuous-training/worker/create-worker';
import { deploymentQueueWorkflowId, deploymentWorkflowId, repositoryWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { requestDeploy, triggerCommit } from 'continuous-training/client/signals';
import { deployerStatusQuery, repositoryStatusQuery } from 'continuous-training/workflows';
import type { TrainingResult } from 'continuous-training/workflows/training';
import { EffectsReader } from './helpers/effects';
import { InterceptProxy, type HoldRule } from './helpers/proxy';
import { commitData, startTestbed, uniquePipeline, type Testbed } from './helpers/testbed';
import { testWorkflowBundlePath } from 'continuous-training/test/helpers/workflow-bundle';

const ACTIVE = ['STATE_ACTIVE', 'STATE_RUNNING', 'STATE_QUEUED', 'STATE_PULLING', 'STATE_STARTING', 'STATE_PAUSED', 'ACTIVE', 'RUNNING', 'QUEUED', 'PULLING', 'STARTING', 'PAUSED'];
const sd = (p: PipelineSpec) => `^/seldon-deploy/api/v1alpha1/namespaces/${p.deployment.namespace}/seldondeployments`;

let tb: Testbed;
let reader: EffectsReader;
let proxies: { det: InterceptProxy; pachd: InterceptProxy; seldon: InterceptProxy };
let worker: Worker;
let running: Promise<void>;
let connection: NativeConnection;
const taskQueue = 'cancel-matrix';
let n = 0;

beforeAll(async () => {
  tb = await startTestbed();
  const c = tb.stack.connections;
  proxies = {
    det: await InterceptProxy.start(c.determined.url),
    pachd: await InterceptProxy.start(c.pachyderm.url),
    seldon: await InterceptProxy.start(c.seldon.url),
  };
  connection = tb.env.nativeConnection;
  worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    connections: {
      ...c,
      determined: { ...c.determined, url: proxies.det.url },
      pachyderm: { ...c.pachyderm, url: proxies.pachd.url },
      seldon: { ...c.seldon, url: proxies.seldon.url },
    },
    workflowBundlePath: testWorkflowBundlePath(),
  });
  running = worker.run();
  reader = new EffectsReader(c);
}, 180_000);

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  for (const p of Object.values(proxies ?? {})) await p.close();
  await tb?.close();
}, 120_000);

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function closedStatus(client: Client, workflowId: string): Promise<string> {
  return until(`${workflowId} to close`, async () => {
    const s = (await client.workflow.getHandle(workflowId).describe()).status.name;
    return s === 'RUNNING' ? null : s;
  });
}

/** The pipeline's experiments still active in Determined, once every one has had time to stop. */
async function activeExperiments(pipeline: PipelineSpec): Promise<{ id: number; state: string }[]> {
  let last: { id: number; state: string }[] = [];
  await until('no experiment active', async () => {
    last = (await reader.read(pipeline)).experiments.filter((e) => ACTIVE.includes(e.state) || e.state.includes('STOPPING'));
    return last.length === 0;
  }, 30_000).catch(() => undefined);
  return last;
}

type TrainingCell = {
  name: string;
  /** Arms the obstacle; resolves when the step is reached. */
  reach: (p: PipelineSpec) => Promise<void>;
  release: () => void;
  /** Whether an experiment exists by then. */
  experiment: boolean;
};

const hold = (proxy: () => InterceptProxy, rule: HoldRule) => () => proxy().arm(rule);

const TRAINING_CELLS: TrainingCell[] = [
  { name: 'before submit (diffCommit in flight)', reach: hold(() => proxies.pachd, { method: 'POST', path: /(DiffFile|WalkFile)$/, phase: 'response' }), release: () => proxies.pachd.releaseHeld(), experiment: false }, // a first training walks the whole tree
  { name: 'during submitExperiment (created, answer not yet received)', reach: hold(() => proxies.det, { method: 'POST', path: /^\/api\/v1\/experiments$/, phase: 'response' }), release: () => proxies.det.releaseHeld(), experiment: true },
  { name: 'during the wait (a poll in flight)', reach: hold(() => proxies.det, { method: 'GET', path: /^\/api\/v1\/experiments\/\d+$/, phase: 'request', skip: 1 }), release: () => proxies.det.releaseHeld(), experiment: true },
  {
    name: 'in a retry backoff of the wait (Determined answering 503)',
    reach: async () => {
      proxies.det.failMatching('GET', /^\/api\/v1\/experiments\/\d+$/);
      const seen = () => proxies.det.seen.filter((s) => /^GET \/api\/v1\/experiments\/\d+$/.test(s)).length;
      const before = seen();
      await until('two failed polls', async () => seen() >= before + 2);
    },
    release: () => proxies.det.stopFailing(),
    experiment: true,
  },
  { name: 'during publish (FinishCommit in flight)', reach: hold(() => proxies.pachd, { method: 'POST', path: /FinishCommit$/, phase: 'response' }), release: () => proxies.pachd.releaseHeld(), experiment: true },
];

describe('cancelling a training', () => {
  test.each(TRAINING_CELLS.map((c) => [c.name, c] as const))('%s: no experiment left active; the pipeline goes on', async (_name, cell) => {
    const pipeline = uniquePipeline(tb.stack, `cancel-train-${++n}`);
    const commit = await commitData(tb.stack, pipeline, 1);
    const reached = cell.reach(pipeline);
    const { workflowId: repoId, answer } = await triggerCommit(tb.client, taskQueue, pipeline, commit);
    expect(answer).toEqual({ status: 'accepted', position: 1 });
    await reached;
    const trainingId = trainingWorkflowId(pipeline.modelName, commit);
    await tb.client.workflow.getHandle(trainingId).cancel();
    // The held request is let go (as a timeout would): the cleanup needs no answer from it.
    setTimeout(() => cell.release(), 500);
    expect(await closedStatus(tb.client, trainingId)).toBe('CANCELLED');

    expect(await activeExperiments(pipeline)).toEqual([]);
    const effects = await reader.read(pipeline);
    expect(effects.experiments.length).toBe(cell.experiment ? 1 : 0);
    // The repository workflow recorded it and is still there for the next commit.
    const repo = tb.client.workflow.getHandle(repoId);
    await until('the cancelled run recorded', async () => (await repo.query(repositoryStatusQuery)).recent.length === 1);
    expect((await repo.query(repositoryStatusQuery)).recent.map((r) => r.outcome)).toEqual(['cancelled']);
    expect((await repo.describe()).status.name).toBe('RUNNING');
    await repo.terminate('cell done');
  }, 180_000);
});

test('terminating the repository workflow during the wait cancels its training (REQUEST_CANCEL): no experiment left active', async () => {
  const pipeline = uniquePipeline(tb.stack, `terminate-parent-${++n}`);
  const commit = await commitData(tb.stack, pipeline, 1);
  const reached = proxies.det.arm({ method: 'GET', path: /^\/api\/v1\/experiments\/\d+$/, phase: 'request', skip: 1 });
  const { workflowId: repoId } = await triggerCommit(tb.client, taskQueue, pipeline, commit);
  await reached;
  await tb.client.workflow.getHandle(repoId).terminate('operator terminated the pipeline');
  setTimeout(() => proxies.det.releaseHeld(), 500);
  expect(await closedStatus(tb.client, trainingWorkflowId(pipeline.modelName, commit))).toBe('CANCELLED');
  expect(await activeExperiments(pipeline)).toEqual([]);
  expect((await reader.read(pipeline)).experiments).toHaveLength(1);
}, 180_000);

type DeploymentCell = { name: string; reach: (p: PipelineSpec) => Promise<void>; release: () => void };
const DEPLOYMENT_CELLS: DeploymentCell[] = [
  { name: 'during deployModel (the update applied, answer not yet received)', reach: (p) => proxies.seldon.arm({ method: 'PUT', path: new RegExp(`${sd(p)}/${p.deployment.name}$`), phase: 'response' }), release: () => proxies.seldon.releaseHeld() },
  { name: 'during wait-ready (a poll in flight)', reach: (p) => proxies.seldon.arm({ method: 'GET', path: new RegExp(`${sd(p)}/${p.deployment.name}$`), phase: 'request', skip: 2 }), release: () => proxies.seldon.releaseHeld() },
  // The detectors' config is unchanged from version 1, so replaceDetector only lists them: hold that.
  { name: 'during the detectors', reach: (p) => proxies.seldon.arm({ method: 'GET', path: new RegExp(`${sd(p)}/${p.deployment.name}/monitor/drift-detector$`), phase: 'request' }), release: () => proxies.seldon.releaseHeld() },
];

async function train(pipeline: PipelineSpec, batch: number): Promise<string> {
  const commit = await commitData(tb.stack, pipeline, batch);
  await triggerCommit(tb.client, taskQueue, pipeline, commit);
  const result = (await until('the training', async () => {
    try {
      return (await tb.client.workflow.getHandle(trainingWorkflowId(pipeline.modelName, commit)).result()) as TrainingResult;
    } catch {
      return null;
    }
  })) as TrainingResult;
  if (result.status !== 'trained') throw new Error(`training ${commit} ${result.status}`);
  return result.outputCommit;
}

describe('cancelling a rollout', () => {
  test.each(DEPLOYMENT_CELLS.map((c) => [c.name, c] as const))('%s: rolled back, version 1 Available; the deployer goes on', async (_name, cell) => {
    const pipeline = uniquePipeline(tb.stack, `cancel-deploy-${++n}`);
    const deployerId = deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name);
    const deployer = tb.client.workflow.getHandle(deployerId);
    const out1 = await train(pipeline, 1);
    await requestDeploy(tb.client, taskQueue, pipeline, out1, 'cascade');
    await until('version 1 deployed', async () => (await deployer.query(deployerStatusQuery)).processed === 1);
    expect((await reader.read(pipeline)).deployments).toMatchObject([{ registryVersion: '1', state: 'Available' }]);

    const out2 = await train(pipeline, 2);
    const reached = cell.reach(pipeline);
    await requestDeploy(tb.client, taskQueue, pipeline, out2, 'cascade');
    await reached;
    const rolloutId = deploymentWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name, out2);
    await tb.client.workflow.getHandle(rolloutId).cancel();
    setTimeout(() => cell.release(), 500);
    expect(await closedStatus(tb.client, rolloutId)).toBe('CANCELLED');

    await until('version 1 Available again', async () => {
      const [d] = (await reader.read(pipeline)).deployments;
      return d?.registryVersion === '1' && d.state === 'Available';
    }, 60_000);
    expect((await reader.read(pipeline)).deployments).toMatchObject([{ registryVersion: '1', outputCommit: out1, state: 'Available' }]);
    await until('the cancelled rollout recorded', async () => (await deployer.query(deployerStatusQuery)).processed === 2);
    expect((await deployer.query(deployerStatusQuery)).recent.map((r) => r.outcome)).toEqual(['completed', 'cancelled']);
    expect((await deployer.describe()).status.name).toBe('RUNNING');
    await deployer.terminate('cell done');
    await tb.client.workflow.getHandle(repositoryWorkflowId(pipeline.input)).terminate('cell done');
  }, 240_000);
});
