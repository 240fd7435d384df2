// The commit watcher against real pachd and a real Temporal dev server: every finished commit reaches its
// workflow exactly once, across a watcher restart (SubscribeCommit replays the branch's history on each
// connect) and across a pachd restart (the open stream breaks; the watcher reconnects by itself).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createLocalEnv } from 'continuous-training/test/helpers/temporal';
import { createFakeActivities, createFakeWorld } from 'continuous-training/test/helpers/fake-activities';
import { testPipeline } from 'continuous-training/test/helpers/pipeline';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { runWatcher } from 'continuous-training/client/watcher';
import { deploymentQueueWorkflowId, repositoryWorkflowId } from 'continuous-training/common/ids';
import { deployerStatusQuery, repositoryStatusQuery } from 'continuous-training/workflows';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import type { RealPachd } from '../../real-pachd';
import { describeRealPachd, startTestPachd } from './helpers';
import { testWorkflowBundle } from 'continuous-training/test/helpers/workflow-bundle';

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeRealPachd('the commit watcher against real pachd', () => {
  let env: TestWorkflowEnvironment;
  let pachd: RealPachd;

  beforeAll(async () => {
    env = await createLocalEnv();
    pachd = await startTestPachd();
  });

  afterAll(async () => {
    await pachd?.close();
    await env?.teardown();
  });

  test('commits reach the repository and deployer workflows once each, across a watcher restart and a pachd restart', async () => {
    const world = createFakeWorld();
    const pipeline = testPipeline({ training: { mode: 'per-commit', pollInterval: '1s', timeout: '1h' } });
    const taskQueue = 'real-pachd-watcher';
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...testWorkflowBundle(),
      activities: createFakeActivities(world),
    });
    const events: string[] = [];
    const target = { url: pachd.url, authToken: pachd.rootToken };
    const startWatcher = () => {
      const abort = new AbortController();
      const done = runWatcher({
        client: env.client,
        taskQueue,
        pipelines: [pipeline],
        pachd: new PachydermClient({ pachyderm: { url: pachd.url, token: pachd.rootToken }, timeoutMs: 10_000 }),
        signal: abort.signal,
        retryDelayMs: 100,
        log: (event, fields) => events.push(`${event} ${JSON.stringify(fields)}`),
      });
      return { stop: async () => (abort.abort(), await done) };
    };
    const repo = env.client.workflow.getHandle(repositoryWorkflowId(pipeline.input));
    const accepted = async () => (await repo.query(repositoryStatusQuery)).accepted;

    await worker.runUntil(async () => {
      const put = (name: string) => putFiles(target, pipeline.input.repo, pipeline.input.branch, { [`/${name}.txt`]: name });
      const c1 = await put('a');
      let watcher = startWatcher();
      const c2 = await put('b');
      await waitFor(async () => (await accepted()).length === 2, 'two commits accepted');
      await watcher.stop();

      const c3 = await put('c'); // lands while no watcher runs
      watcher = startWatcher();
      await waitFor(async () => (await accepted()).length === 3, 'the third commit');

      // pachd goes away under the open SubscribeCommit streams and comes back with the same data.
      await pachd.restart();
      const c4 = await put('d');
      await waitFor(async () => (await accepted()).length === 4, 'the fourth commit, after pachd restarted');
      await waitFor(async () => (await repo.query(repositoryStatusQuery)).processed === 4, 'four trainings');
      expect(await accepted()).toEqual([c1, c2, c3, c4]);
      // One training per commit: the replays after each reconnect sent nothing twice.
      expect(world.experiments.map((e) => e.commit)).toEqual([c1, c2, c3, c4]);
      expect(events.filter((e) => e.startsWith('watch.answer') && e.includes('"training"'))).toHaveLength(4);
      // The restart broke the training stream, and the second watcher subscribed again by itself.
      const training = (event: string) => events.filter((e) => e.startsWith(event) && e.includes('"training"'));
      expect(training('watch.error').length).toBeGreaterThanOrEqual(1);
      expect(training('watch.subscribe').length).toBeGreaterThanOrEqual(3);

      const out = await putFiles(target, pipeline.output.repo, pipeline.output.branch, { '/model-info.yaml': 'name: x' });
      const deployer = env.client.workflow.getHandle(deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name));
      await waitFor(async () => (await deployer.query(deployerStatusQuery)).accepted.includes(out), 'the output commit at the deployer');
      await watcher.stop();
      await repo.terminate('test done');
      await deployer.terminate('test done');
    });
  });
});
