// Tests of the long-lived repository workflow (signals, child trainings, continue-as-new) on the real dev
// server: the time-skipping server is unreliable with child workflows (sdk-typescript#1101), and these
// tests skip no time anyway. The activities are the in-memory ones (test/helpers/fake-activities).
import { WorkflowFailedError } from '@temporalio/client';
import { createLocalEnv } from '../helpers/temporal';
import { createFakeWorld } from '../helpers/fake-activities';
import { useFakeWorkerEnv } from '../helpers/fake-worker';
import { testPipeline } from '../helpers/pipeline';
import { repositoryWorkflow, newCommitSignal, repositoryStatusQuery, pauseSignal, resumeSignal } from '../../workflows';
import { repositoryWorkflowId } from '../../common/ids';

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
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
