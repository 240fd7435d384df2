// Deadlines and cancellation of the training and deployment workflows, on the time-skipping server with
// the in-memory activities: `training.timeout` and `readyTimeout` are workflow timers; a training that
// ends early at any step leaves no experiment running; a cancelled rollout still rolls back.
// The test server does not skip time while an activity is in progress (a held experiment heartbeats),
// so the deadlines here are short (3 s); the assertions are on outcomes, never on how long it took.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { createTimeSkippingEnv } from '../helpers/temporal';
import { createFakeWorld, type FakeWorld } from '../helpers/fake-activities';
import { useFakeWorkerEnv } from '../helpers/fake-worker';
import { testPipeline } from '../helpers/pipeline';
import { trainingWorkflow, deploymentWorkflow } from '../../workflows';
import { ErrorType } from '../../common/errors';

const t = useFakeWorkerEnv(createTimeSkippingEnv);
const withWorker = t.withWorker.bind(t);

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function failureOf(handle: WorkflowHandle): Promise<unknown> {
  const err = await handle.result().then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause;
}

const running = (world: FakeWorld) => world.experiments.filter((e) => e.state === 'RUNNING').map((e) => e.id);

test('training.timeout bounds the training: a hung experiment is killed, nothing registered, TrainingTimedOut', async () => {
  const world = createFakeWorld();
  world.holdExperiments = true;
  const pipeline = testPipeline({ training: { mode: 'coalesce', pollInterval: '1s', timeout: '3s' } });
  const cause = await withWorker(world, async (taskQueue) => {
    const handle = await t.env.client.workflow.start(trainingWorkflow, { taskQueue, workflowId: `timeout-${t.n}`, args: [{ pipeline, commit: 'c1' }] });
    await until(() => world.calls.filter((c) => c.startsWith('waitForExperiment')).length >= 2);
    return failureOf(handle);
  });
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause).toMatchObject({ type: ErrorType.TrainingTimedOut, nonRetryable: true });
  expect((cause as ApplicationFailure).message).toBe('experiment 1 did not finish within training.timeout 3s: killed; nothing registered or published');
  expect(world.killed).toEqual([1]);
  expect(running(world)).toEqual([]);
  expect(world.versions).toHaveLength(0);
  expect(world.outputCommits).toHaveLength(0);
});

type Case = readonly [string, (w: FakeWorld) => unknown, (w: FakeWorld) => boolean];

test.each<Case>([
  ['during submitExperiment', (w: FakeWorld) => (w.holdSubmit = true), (w: FakeWorld) => w.experiments.length === 1],
  ['during the wait', (w: FakeWorld) => (w.holdExperiments = true), (w: FakeWorld) => w.calls.filter((c) => c.startsWith('waitForExperiment')).length >= 2],
  ['in a retry backoff of the wait', (w: FakeWorld) => (w.waitUnavailable = true), (w: FakeWorld) => w.calls.some((c) => c.startsWith('waitForExperiment'))],
])('a training cancelled %s leaves no experiment running and registers nothing', async (_when, arrange, reached) => {
  const world = createFakeWorld();
  arrange(world);
  const cause = await withWorker(world, async (taskQueue) => {
    const handle = await t.env.client.workflow.start(trainingWorkflow, { taskQueue, workflowId: `cancel-${t.n}`, args: [{ pipeline: testPipeline(), commit: 'c1' }] });
    await until(() => reached(world));
    await handle.cancel();
    return failureOf(handle);
  });
  expect(cause).toBeInstanceOf(CancelledFailure);
  expect(world.experiments).toHaveLength(1);
  expect(world.killed).toEqual([1]);
  expect(running(world)).toEqual([]);
  expect(world.versions).toHaveLength(0);
});

test('a training cancelled during publish ends cancelled with its experiment finished (nothing to kill)', async () => {
  const world = createFakeWorld();
  world.holdPublish = true;
  const cause = await withWorker(world, async (taskQueue) => {
    const handle = await t.env.client.workflow.start(trainingWorkflow, { taskQueue, workflowId: `cancel-pub-${t.n}`, args: [{ pipeline: testPipeline(), commit: 'c1' }] });
    await until(() => world.calls.some((c) => c.startsWith('publishModel')));
    await handle.cancel();
    return failureOf(handle);
  });
  expect(cause).toBeInstanceOf(CancelledFailure);
  expect(world.experiments.map((e) => e.state)).toEqual(['COMPLETED']);
  expect(running(world)).toEqual([]);
});

/** Version 1 trained and deployed (Available), version 2 trained and published as out2. */
async function twoVersions(taskQueue: string, world: FakeWorld, pipeline = testPipeline()): Promise<void> {
  await t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `v1-${t.n}`, args: [{ pipeline, commit: 'c1' }] });
  await t.env.client.workflow.execute(deploymentWorkflow, {
    taskQueue,
    workflowId: `d1-${t.n}`,
    args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: 'out1', reason: 'cascade' }],
  });
  await t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `v2-${t.n}`, args: [{ pipeline, commit: 'c2' }] });
  expect(world.deployed).toMatchObject({ registryVersion: 1, state: 'Available' });
}

test('readyTimeout bounds the rollout: a deployment never Available is rolled back, DeploymentFailed', async () => {
  const world = createFakeWorld();
  const base = testPipeline();
  const pipeline = testPipeline({ deployment: { ...base.deployment, readyTimeout: '3s' } });
  const cause = await withWorker(world, async (taskQueue) => {
    await twoVersions(taskQueue, world, pipeline);
    world.holdReady = true;
    const handle = await t.env.client.workflow.start(deploymentWorkflow, {
      taskQueue,
      workflowId: `ready-timeout-${t.n}`,
      args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: 'out2', reason: 'cascade' }],
    });
    await until(() => world.calls.some((c) => c.startsWith('waitForDeploymentReady:2@')));
    // The rollback's own wait may not hang either: it is released once the rollback began.
    await until(() => world.calls.filter((c) => c.startsWith('deployModel')).length === 3);
    world.holdReady = false;
    return failureOf(handle);
  });
  expect(cause).toMatchObject({ type: ErrorType.DeploymentFailed });
  expect((cause as ApplicationFailure).message).toMatch(/did not become Available within readyTimeout 3s.*rolled back to version 1/);
  expect(world.deployed).toMatchObject({ registryVersion: 1, state: 'Available', outputCommit: 'out1' });
});

test.each<Case>([
  ['wait-ready', (w: FakeWorld) => (w.holdReady = true), (w: FakeWorld) => w.calls.some((c) => c.startsWith('waitForDeploymentReady:2@'))],
  ['the detectors', (w: FakeWorld) => (w.holdDetectors = true), (w: FakeWorld) => w.calls.some((c) => c.startsWith('replaceDetector'))],
])('a rollout cancelled during %s is rolled back to what served before and ends cancelled', async (_when, arrange, reached) => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  const cause = await withWorker(world, async (taskQueue) => {
    await twoVersions(taskQueue, world, pipeline);
    world.calls.length = 0;
    arrange(world);
    const handle = await t.env.client.workflow.start(deploymentWorkflow, {
      taskQueue,
      workflowId: `deploy-cancel-${t.n}`,
      args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: 'out2', reason: 'cascade' }],
    });
    await until(() => reached(world));
    await handle.cancel();
    // The rollback waits for Available too: let it through once it began.
    await until(() => world.calls.filter((c) => c.startsWith('deployModel')).length === 2);
    world.holdReady = false;
    return failureOf(handle);
  });
  expect(cause).toBeInstanceOf(CancelledFailure);
  expect(world.calls.filter((c) => c.startsWith('deployModel'))).toEqual(['deployModel:2', 'deployModel:1']);
  expect(world.deployed).toMatchObject({ registryVersion: 1, state: 'Available', outputCommit: 'out1' });
});
