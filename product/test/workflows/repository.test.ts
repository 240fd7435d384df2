// Tests of the long-lived repository and deployer workflows (signals, Updates and their answers, child
// runs cancelled or retried, configuration changes, continue-as-new) on the real dev
// server: the time-skipping server is unreliable with child workflows (sdk-typescript#1101), and these
// tests skip no time anyway. The activities are the in-memory ones (test/helpers/fake-activities).
import { WorkflowFailedError } from '@temporalio/client';
import { createLocalEnv } from '../helpers/temporal';
import { createFakeWorld } from '../helpers/fake-activities';
import { useFakeWorkerEnv } from '../helpers/fake-worker';
import { testPipeline } from '../helpers/pipeline';
import {
  repositoryWorkflow,
  newCommitSignal,
  repositoryStatusQuery,
  pauseSignal,
  resumeSignal,
  applyPipelineUpdate,
  trainingWorkflow,
  deployerStatusQuery,
} from '../../workflows';
import { deploymentQueueWorkflowId, deploymentWorkflowId, repositoryWorkflowId, trainingWorkflowId } from '../../common/ids';
import { MAX_PENDING } from '../../workflows/commit-queue';
import { requestDeploy, specRevision, triggerCommit } from '../../client/signals';
import { applyConfig } from '../../client/apply-config';

const t = useFakeWorkerEnv(createLocalEnv);
const withWorker = t.withWorker.bind(t);

test('cancelling the repository workflow cancels the running training and kills its experiment', async () => {
  const world = createFakeWorld();
  world.holdExperiments = true;
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    const handle = await t.env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: `${repositoryWorkflowId(pipeline.input)}-cancel-${t.n}`,
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
    const handle = await t.env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: `${repositoryWorkflowId(pipeline.input)}-burst-${t.n}`,
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
    const handle = await t.env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: `${repositoryWorkflowId(pipeline.input)}-coalesce-${t.n}`,
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
    const handle = await t.env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: `${repositoryWorkflowId(pipeline.input)}-pause-${t.n}`,
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
    const workflowId = `${repositoryWorkflowId(pipeline.input)}-can-${t.n}`;
    const handle = await t.env.client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId,
      args: [{ pipeline, maxHistoryEvents: 40 }],
      signal: newCommitSignal,
      signalArgs: [{ commit: 'k0' }],
    });
    const firstRun = (await handle.describe()).runId;
    for (let i = 1; i < 6; i++) {
      await t.env.client.workflow.getHandle(workflowId).signal(newCommitSignal, { commit: `k${i}` });
      await waitFor(async () => (await t.env.client.workflow.getHandle(workflowId).query(repositoryStatusQuery)).processed === i + 1);
    }
    const latest = t.env.client.workflow.getHandle(workflowId);
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
    if (Date.now() > deadline) throw new Error(`condition not reached in time: ${check.toString().slice(0, 160)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('control, answers and configuration of the long-lived workflows', () => {
  const statusOf = (workflowId: string) => t.env.client.workflow.getHandle(workflowId).query(repositoryStatusQuery);

  test('cancelling one training records it as cancelled (its experiment killed) and the next commit goes on', async () => {
    const world = createFakeWorld();
    world.holdExperiments = true;
    const pipeline = testPipeline({ input: { project: 'default', repo: `cancel-child-${t.n}`, branch: 'master' } });
    await withWorker(world, async (taskQueue) => {
      const { workflowId } = await triggerCommit(t.env.client, taskQueue, pipeline, 'x1');
      await waitFor(async () => world.experiments.length === 1);
      expect((await triggerCommit(t.env.client, taskQueue, pipeline, 'y1')).answer).toEqual({ status: 'accepted', position: 1 });
      await t.env.client.workflow.getHandle(trainingWorkflowId(pipeline.modelName, 'x1')).cancel();
      await waitFor(async () => world.experiments.length === 2);
      world.holdExperiments = false;
      await waitFor(async () => (await statusOf(workflowId)).processed === 2);
      const status = await statusOf(workflowId);
      expect(status.recent.map((r) => [r.commit, r.outcome])).toEqual([
        ['x1', 'cancelled'],
        ['y1', 'completed'],
      ]);
      expect((await t.env.client.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');
      await t.env.client.workflow.getHandle(workflowId).terminate('test done');
    });
    expect(world.killed).toEqual([1]);
    expect(world.experiments.map((e) => [e.commit, e.state])).toEqual([
      ['x1', 'CANCELED'],
      ['y1', 'COMPLETED'],
    ]);
  });

  test('a trigger gets an answer: accepted at a position, already queued, already trained, rejected', async () => {
    const world = createFakeWorld();
    world.holdExperiments = true;
    const pipeline = testPipeline({
      input: { project: 'default', repo: `answers-${t.n}`, branch: 'master' },
      training: { mode: 'per-commit', pollInterval: '1s', timeout: '1h' },
    });
    await withWorker(world, async (taskQueue) => {
      const trigger = async (commit: string) => (await triggerCommit(t.env.client, taskQueue, pipeline, commit)).answer;
      expect(await trigger('a1')).toEqual({ status: 'accepted', position: 1 });
      await waitFor(async () => world.experiments.length === 1);
      expect(await trigger('a2')).toEqual({ status: 'accepted', position: 1 });
      expect(await trigger('a3')).toEqual({ status: 'accepted', position: 2 });
      expect(await trigger('a1')).toEqual({ status: 'already-queued', position: 0 });
      expect(await trigger('a3')).toEqual({ status: 'already-queued', position: 2 });
      expect(await trigger('not a commit!')).toEqual({ status: 'rejected', reason: expect.stringContaining('is not a commit id') });
      // Per-commit mode refuses past MAX_PENDING commits waiting.
      for (let i = 3; i <= MAX_PENDING; i++) expect(await trigger(`q${i}`)).toMatchObject({ status: 'accepted', position: i });
      expect(await trigger('overflow')).toEqual({ status: 'rejected', reason: expect.stringContaining(`the queue is full (${MAX_PENDING} commits waiting)`) });
      world.holdExperiments = false;
      await waitFor(async () => (await statusOf(repositoryWorkflowId(pipeline.input))).processed >= 2, 60_000);
      expect(await trigger('a1')).toEqual({ status: 'already-trained', workflowId: trainingWorkflowId(pipeline.modelName, 'a1'), outcome: 'completed' });
      await t.env.client.workflow.getHandle(repositoryWorkflowId(pipeline.input)).terminate('test done');
    });
  }, 120_000);

  test('ct retry trains a failed commit again with a new experiment; a completed one is refused', async () => {
    const world = createFakeWorld();
    world.failingCommits.add('r1');
    const pipeline = testPipeline({ input: { project: 'default', repo: `retry-${t.n}`, branch: 'master' } });
    await withWorker(world, async (taskQueue) => {
      const { workflowId } = await triggerCommit(t.env.client, taskQueue, pipeline, 'r1');
      await waitFor(async () => (await statusOf(workflowId)).processed === 1);
      expect((await triggerCommit(t.env.client, taskQueue, pipeline, 'r1')).answer).toMatchObject({ status: 'already-trained', outcome: 'failed' });
      world.failingCommits.delete('r1');
      expect((await triggerCommit(t.env.client, taskQueue, pipeline, 'r1', { retry: true })).answer).toEqual({ status: 'accepted', position: 1 });
      await waitFor(async () => (await statusOf(workflowId)).processed === 2);
      expect((await statusOf(workflowId)).recent.map((r) => r.outcome)).toEqual(['failed', 'completed']);
      expect((await triggerCommit(t.env.client, taskQueue, pipeline, 'r1', { retry: true })).answer).toEqual({
        status: 'rejected',
        reason: `its training ${trainingWorkflowId(pipeline.modelName, 'r1')} completed: nothing to retry`,
      });
      await t.env.client.workflow.getHandle(workflowId).terminate('test done');
    });
    // Two runs of the same training workflow id: two experiments, the first left in ERROR.
    expect(world.experiments.map((e) => [e.commit, e.state])).toEqual([
      ['r1', 'ERROR'],
      ['r1', 'COMPLETED'],
    ]);
    expect(new Set(world.experiments.map((e) => e.run)).size).toBe(2);
  });

  test('a changed spec reaches the running workflow between trainings; each training records its revision', async () => {
    const world = createFakeWorld();
    world.holdExperiments = true;
    const pipeline = testPipeline({ input: { project: 'default', repo: `config-${t.n}`, branch: 'master' } });
    const changed = { ...pipeline, modelName: `${pipeline.modelName}-v2` };
    await withWorker(world, async (taskQueue) => {
      const { workflowId } = await triggerCommit(t.env.client, taskQueue, pipeline, 'cfg1');
      await waitFor(async () => world.experiments.length === 1);
      const report = await applyConfig(t.env.client, taskQueue, [changed], { stopRemoved: false });
      expect(report.updated).toEqual([{ workflowId, revision: specRevision(changed), previous: specRevision(pipeline) }]);
      await triggerCommit(t.env.client, taskQueue, pipeline, 'cfg2');
      world.holdExperiments = false;
      await waitFor(async () => (await statusOf(workflowId)).processed === 2);
      const memo = async (id: string) => (await t.env.client.workflow.getHandle(id).describe()).memo;
      // cfg1 kept the spec it started with; cfg2 ran with the new one (training ids are per model and commit:
      // these commits are used by no other test of this file).
      expect(await memo(trainingWorkflowId(pipeline.modelName, 'cfg1'))).toEqual({ specRevision: specRevision(pipeline) });
      expect(await memo(trainingWorkflowId(changed.modelName, 'cfg2'))).toEqual({ specRevision: specRevision(changed) });
      // A spec for another input repository is refused by the validator.
      const other = { ...pipeline, input: { ...pipeline.input, repo: 'elsewhere' } };
      await expect(
        t.env.client.workflow.getHandle(workflowId).executeUpdate(applyPipelineUpdate, { args: [{ spec: other, revision: 'x' }] }),
      ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/this workflow serves default\/config-\d+@master/) } });
      // `ct apply` with a file that no longer names the pipeline stops it.
      const stop = await applyConfig(t.env.client, taskQueue, [], { stopRemoved: true });
      expect(stop.stopped).toEqual([workflowId]);
      await waitFor(async () => (await t.env.client.workflow.getHandle(workflowId).describe()).status.name === 'CANCELLED');
    });
  });

  test('the deployer: a cancelled rollout is recorded, rolled back, and the next request goes on; pause holds rollouts', async () => {
    const world = createFakeWorld();
    const pipeline = testPipeline({ deployment: { ...testPipeline().deployment, name: `deployer-${t.n}` } });
    await withWorker(world, async (taskQueue) => {
      for (const commit of ['c1', 'c2', 'c3']) {
        await t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `dep-train-${commit}-${t.n}`, args: [{ pipeline, commit }] });
      }
      const deployerId = deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name);
      const deployer = t.env.client.workflow.getHandle(deployerId);
      expect((await requestDeploy(t.env.client, taskQueue, pipeline, 'out1', 'cascade')).answer).toEqual({ status: 'accepted', position: 1 });
      await waitFor(async () => (await deployer.query(deployerStatusQuery)).processed === 1);
      world.holdReady = true;
      await requestDeploy(t.env.client, taskQueue, pipeline, 'out2', 'cascade');
      await waitFor(async () => world.calls.some((c) => c.startsWith('waitForDeploymentReady:2@')));
      await deployer.signal(pauseSignal);
      expect((await requestDeploy(t.env.client, taskQueue, pipeline, 'out3', 'cascade')).answer).toEqual({ status: 'accepted', position: 1 });
      await t.env.client.workflow.getHandle(deploymentWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name, 'out2')).cancel();
      await waitFor(async () => world.calls.filter((c) => c.startsWith('deployModel')).length === 3);
      world.holdReady = false;
      await waitFor(async () => (await deployer.query(deployerStatusQuery)).processed === 2);
      // Paused: out3 waits.
      expect((await deployer.query(deployerStatusQuery)).pending).toEqual(['out3']);
      expect(world.deployed).toMatchObject({ registryVersion: 1, state: 'Available' });
      await deployer.signal(resumeSignal);
      await waitFor(async () => (await deployer.query(deployerStatusQuery)).processed === 3);
      expect((await deployer.query(deployerStatusQuery)).recent.map((r) => [r.commit, r.outcome])).toEqual([
        ['out1', 'completed'],
        ['out2', 'cancelled'],
        ['out3', 'completed'],
      ]);
      expect((await requestDeploy(t.env.client, taskQueue, pipeline, 'out3', 'cascade')).answer).toMatchObject({ status: 'already-deployed' });
      await deployer.terminate('test done');
    });
    expect(world.calls.filter((c) => c.startsWith('deployModel'))).toEqual(['deployModel:1', 'deployModel:2', 'deployModel:1', 'deployModel:3']);
  });
});
