// Workflow tests on the real time-skipping test server, with in-memory activities (test/helpers/fake-activities).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import { createTimeSkippingEnv } from '../helpers/temporal';
import { createFakeActivities, createFakeWorld, type FakeWorld } from '../helpers/fake-activities';
import { testPipeline } from '../helpers/pipeline';
import {
  trainingWorkflow,
  deploymentWorkflow,
  repositoryWorkflow,
  newCommitSignal,
  repositoryStatusQuery,
  trainingStatusQuery,
  pauseSignal,
  resumeSignal,
} from '../../workflows';
import { repositoryWorkflowId } from '../../common/ids';
import { ErrorType } from '../../common/errors';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let n = 0;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') });
});

afterAll(async () => {
  await env?.teardown();
});

async function withWorker<T>(world: FakeWorld, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `wf-test-${++n}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createFakeActivities(world),
    // Cancellation reaches an activity with its next heartbeat: don't let throttling delay it.
    maxHeartbeatThrottleInterval: '200ms',
  });
  return worker.runUntil(fn(taskQueue));
}

test('a new model is trained from scratch, registered and published', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  const result = await withWorker(world, (taskQueue) =>
    env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `train-new-${n}`, args: [{ pipeline, commit: 'c1' }] }),
  );
  expect(result.status).toBe('trained');
  if (result.status !== 'trained') return;
  expect(result.modelVersion.version).toBe(1);
  expect(result.outputCommit).toBe('out1');
  expect(world.calls).toEqual([
    'lookupModel:dogs-and-cats',
    'diffCommit:c1:-',
    'fetchExperiment:main',
    'submitExperiment:c1:scratch',
    'waitForExperiment:1',
    'waitForExperiment:1',
    'registerModelVersion:1',
    'publishModel:1',
  ]);
});

test('a second commit continues from the latest checkpoint and diffs against the commit it was trained on', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    await env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `train-a-${n}`, args: [{ pipeline, commit: 'c1' }] });
    const handle = await env.client.workflow.start(trainingWorkflow, { taskQueue, workflowId: `train-b-${n}`, args: [{ pipeline, commit: 'c3' }] });
    const second = await handle.result();
    expect(second.status).toBe('trained');
    const status = await handle.query(trainingStatusQuery);
    expect(status.steps.map((s) => s.name)).toEqual([
      'lookup-model',
      'diff-commit',
      'fetch-experiment',
      'submit-experiment',
      'wait-experiment',
      'register-version',
      'publish-model',
    ]);
    expect(status.steps.every((s) => s.outcome === 'ok' && typeof s.durationMs === 'number')).toBe(true);
    expect(status.experiment).toEqual({ experimentId: 2, state: 'COMPLETED', progress: 1 });
  });
  expect(world.calls).toContain('diffCommit:c3:c1');
  expect(world.calls).toContain('submitExperiment:c3:ckpt-1');
  expect(world.versions.map((v) => v.version)).toEqual([1, 2]);
});

test.each([
  ['empty', 'the commit adds or changes no file'],
  ['deletions-only', 'the commit only deletes files: nothing new to train on'],
] as const)('a commit whose diff is %s is skipped with a reason, and nothing is submitted', async (kind, reason) => {
  const world = createFakeWorld();
  world.diffKind.c9 = kind;
  const result = await withWorker(world, (taskQueue) =>
    env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `train-skip-${n}`, args: [{ pipeline: testPipeline(), commit: 'c9' }] }),
  );
  expect(result).toMatchObject({ status: 'skipped', reason });
  expect(world.calls.some((c) => c.startsWith('submitExperiment'))).toBe(false);
});

test('an experiment ending in ERROR fails the training with a typed error; nothing is registered or published', async () => {
  const world = createFakeWorld();
  world.failingCommits.add('bad');
  const err = await withWorker(world, (taskQueue) =>
    env.client.workflow
      .execute(trainingWorkflow, { taskQueue, workflowId: `train-err-${n}`, args: [{ pipeline: testPipeline(), commit: 'bad' }] })
      .then(() => null, (e: unknown) => e),
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(ErrorType.ExperimentFailed);
  expect((cause as ApplicationFailure).message).toMatch(/ended in ERROR/);
  expect(world.versions).toHaveLength(0);
  expect(world.outputCommits).toHaveLength(0);
});

test('a deployment that goes Failed is rolled back to the version that served before', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    // Version 1 trained, published and deployed.
    await env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `t1-${n}`, args: [{ pipeline, commit: 'c1' }] });
    const first = await env.client.workflow.execute(deploymentWorkflow, {
      taskQueue,
      workflowId: `d1-${n}`,
      args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: 'out1', reason: 'cascade' }],
    });
    expect(first.status).toBe('deployed');
    expect(world.detectors).toEqual(['drift:dogcat-deploy', 'outlier:dogcat-deploy']);

    // Version 2 crashes on start.
    await env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `t2-${n}`, args: [{ pipeline, commit: 'c2' }] });
    world.failingVersions.add(2);
    const err = await env.client.workflow
      .execute(deploymentWorkflow, {
        taskQueue,
        workflowId: `d2-${n}`,
        args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: 'out2', reason: 'cascade' }],
      })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(ErrorType.DeploymentFailed);
    expect(cause.message).toMatch(/image crashed.*rolled back to version 1/);
  });
  expect(world.deployed).toMatchObject({ registryVersion: 1, state: 'Available', outputCommit: 'out1' });
  expect(world.calls.filter((c) => c.startsWith('deployModel'))).toEqual(['deployModel:1', 'deployModel:2', 'deployModel:1']);
});

test('the promotion gate (off by default) deploys only a version whose metric beats the deployed one', async () => {
  const world = createFakeWorld();
  const base = testPipeline();
  const pipeline = testPipeline({ deployment: { ...base.deployment, promotionGate: true } });
  const deploy = (taskQueue: string, outputCommit: string) =>
    env.client.workflow.execute(deploymentWorkflow, {
      taskQueue,
      workflowId: `gate-${outputCommit}-${n}`,
      args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit, reason: 'cascade' }],
    });
  await withWorker(world, async (taskQueue) => {
    for (const commit of ['g1', 'g2', 'g3']) {
      await env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `gate-train-${commit}-${n}`, args: [{ pipeline, commit }] });
    }
    world.outputCommits[1].info.metric = 0.1; // version 2 is worse than version 1 (0.5)
    expect(await deploy(taskQueue, 'out1')).toMatchObject({ status: 'deployed' });
    expect(await deploy(taskQueue, 'out2')).toMatchObject({
      status: 'skipped',
      reason: 'promotion gate: accuracy 0.1 does not beat the deployed version\'s 0.5',
    });
    expect(await deploy(taskQueue, 'out3')).toMatchObject({ status: 'deployed' });
  });
  expect(world.calls.filter((c) => c.startsWith('deployModel'))).toEqual(['deployModel:1', 'deployModel:3']);
});

test('cancelling the repository workflow cancels the running training and kills its experiment', async () => {
  const world = createFakeWorld();
  world.holdExperiments = true;
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    const handle = await env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: `${repositoryWorkflowId(pipeline.input)}-cancel-${n}`,
      args: [{ pipeline }],
      signal: newCommitSignal,
      signalArgs: [{ commit: 'c1' }],
    });
    await waitFor(async () => (await handle.query(repositoryStatusQuery)).running !== null && world.experiments.length === 1);
    await waitFor(async () => world.calls.filter((c) => c.startsWith('waitForExperiment')).length >= 2);
    await handle.cancel();
    const err = await handle.result().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause)).toMatch(/cancel/i);
  });
  expect(world.killed).toEqual([1]);
  expect(world.versions).toHaveLength(0);
});

test('a burst of 20 commits during one training: all accounted for, in order, one training at a time', async () => {
  const world = createFakeWorld();
  world.holdExperiments = true;
  const pipeline = testPipeline({ training: { mode: 'per-commit', pollInterval: '1s', timeout: '1h' } });
  const commits = Array.from({ length: 21 }, (_, i) => `c${String(i).padStart(2, '0')}`);
  await withWorker(world, async (taskQueue) => {
    const handle = await env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: `${repositoryWorkflowId(pipeline.input)}-burst-${n}`,
      args: [{ pipeline }],
      signal: newCommitSignal,
      signalArgs: [{ commit: commits[0] }],
    });
    await waitFor(async () => world.experiments.length === 1);
    for (const commit of commits.slice(1)) await handle.signal(newCommitSignal, { commit });
    // Duplicates (a watcher replaying history) are ignored.
    for (const commit of commits.slice(0, 5)) await handle.signal(newCommitSignal, { commit });
    world.holdExperiments = false;
    await waitFor(async () => (await handle.query(repositoryStatusQuery)).processed === 21, 60_000);
    const status = await handle.query(repositoryStatusQuery);
    expect(status.pending).toEqual([]);
    expect(status.recent.map((r) => r.outcome)).toEqual(Array(20).fill('completed'));
    await handle.terminate('test done');
  });
  expect(world.experiments.map((e) => e.commit)).toEqual(commits);
  expect(world.maxConcurrentExperiments).toBe(1);
  expect(world.versions).toHaveLength(21);
});

test('coalescing: commits that arrive during a training are trained together next, against the last trained commit', async () => {
  const world = createFakeWorld();
  world.holdExperiments = true;
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    const handle = await env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: `${repositoryWorkflowId(pipeline.input)}-coalesce-${n}`,
      args: [{ pipeline }],
      signal: newCommitSignal,
      signalArgs: [{ commit: 'c1' }],
    });
    await waitFor(async () => world.experiments.length === 1);
    for (const commit of ['c2', 'c3', 'c4']) await handle.signal(newCommitSignal, { commit });
    world.holdExperiments = false;
    await waitFor(async () => (await handle.query(repositoryStatusQuery)).processed === 4);
    const status = await handle.query(repositoryStatusQuery);
    expect(status.recent.map((r) => [r.commit, r.covered])).toEqual([
      ['c1', 1],
      ['c4', 3],
    ]);
    await handle.terminate('test done');
  });
  expect(world.experiments.map((e) => e.commit)).toEqual(['c1', 'c4']);
  expect(world.calls).toContain('diffCommit:c4:c1');
});

test('pause holds new commits in the queue; resume trains them', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    const handle = await env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: `${repositoryWorkflowId(pipeline.input)}-pause-${n}`,
      args: [{ pipeline }],
      signal: pauseSignal,
      signalArgs: [],
    });
    await handle.signal(newCommitSignal, { commit: 'p1' });
    await handle.signal(newCommitSignal, { commit: 'p2' });
    const paused = await handle.query(repositoryStatusQuery);
    expect(paused).toMatchObject({ paused: true, pending: ['p1', 'p2'], processed: 0 });
    expect(world.experiments).toHaveLength(0);
    await handle.signal(resumeSignal);
    await waitFor(async () => (await handle.query(repositoryStatusQuery)).processed === 2);
    expect(world.experiments.map((e) => e.commit)).toEqual(['p2']); // coalesced
    await handle.terminate('test done');
  });
});

test('the repository workflow continues as new before its history grows large, keeping its queue and dedupe', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline({ training: { mode: 'per-commit', pollInterval: '1s', timeout: '1h' } });
  await withWorker(world, async (taskQueue) => {
    const workflowId = `${repositoryWorkflowId(pipeline.input)}-can-${n}`;
    const handle = await env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId,
      args: [{ pipeline, maxHistoryEvents: 40 }],
      signal: newCommitSignal,
      signalArgs: [{ commit: 'k0' }],
    });
    const firstRun = (await handle.describe()).runId;
    for (let i = 1; i < 6; i++) {
      await env.client.workflow.getHandle(workflowId).signal(newCommitSignal, { commit: `k${i}` });
      await waitFor(async () => (await env.client.workflow.getHandle(workflowId).query(repositoryStatusQuery)).processed === i + 1);
    }
    const latest = env.client.workflow.getHandle(workflowId);
    expect((await latest.describe()).runId).not.toBe(firstRun);
    // A commit seen before the hand-over is still recognised after it.
    await latest.signal(newCommitSignal, { commit: 'k0' });
    const status = await latest.query(repositoryStatusQuery);
    expect(status.processed).toBe(6);
    expect(status.accepted).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
    expect(status.pending).toEqual([]);
    await latest.terminate('test done');
  });
  expect(world.experiments.map((e) => e.commit)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Keep the import used for type narrowing in failure assertions.
void ChildWorkflowFailure;
