// The watcher against the Pachyderm emulator and a real dev server: every finished commit reaches its
// workflow exactly once, across watcher restarts (SubscribeCommit replays history on every connect).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getEventListeners } from 'node:events';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createLocalEnv } from '../helpers/temporal';
import { createFakeActivities, createFakeWorld } from '../helpers/fake-activities';
import { testPipeline } from '../helpers/pipeline';
import { startPachydermEmulator, putFiles, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { PachydermClient } from '../../activities/pachyderm/client';
import { runWatcher } from '../../client/watcher';
import { deploymentQueueWorkflowId, repositoryWorkflowId } from '../../common/ids';
import { deployerStatusQuery, repositoryStatusQuery } from '../../workflows';
import { testWorkflowBundle } from '../helpers/workflow-bundle';

let env: TestWorkflowEnvironment;
let pachd: PachydermEmulator;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-watcher-'));

beforeAll(async () => {
  env = await createLocalEnv();
  pachd = await startPachydermEmulator({ stateDir });
});

afterAll(async () => {
  await pachd?.close();
  await env?.teardown();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('commits reach the repository and deployer workflows once each, across a watcher restart', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline({ training: { mode: 'per-commit', pollInterval: '1s', timeout: '1h' } });
  const taskQueue = 'watcher-test';
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...testWorkflowBundle(), activities: createFakeActivities(world) });
  const events: string[] = [];
  const startWatcher = () => {
    const abort = new AbortController();
    const done = runWatcher({
      client: env.client,
      taskQueue,
      pipelines: [pipeline],
      pachd: new PachydermClient({ pachyderm: { url: pachd.url }, timeoutMs: 10_000 }),
      signal: abort.signal,
      retryDelayMs: 100,
      log: (event, fields) => events.push(`${event} ${JSON.stringify(fields)}`),
    });
    return { stop: async () => (abort.abort(), await done) };
  };
  const repo = env.client.workflow.getHandle(repositoryWorkflowId(pipeline.input));
  const accepted = async () => (await repo.query(repositoryStatusQuery)).accepted;

  await worker.runUntil(async () => {
    const put = (name: string) => putFiles(pachd.url, pipeline.input.repo, pipeline.input.branch, { [`/${name}.txt`]: name });
    const c1 = await put('a');
    let watcher = startWatcher();
    const c2 = await put('b');
    await waitFor(async () => (await accepted()).length === 2, 'two commits accepted');
    await watcher.stop();

    const c3 = await put('c'); // lands while no watcher runs
    watcher = startWatcher();
    await waitFor(async () => (await accepted()).length === 3, 'the third commit');
    const c4 = await put('d');
    await waitFor(async () => (await accepted()).length === 4, 'the fourth commit');
    await waitFor(async () => (await repo.query(repositoryStatusQuery)).processed === 4, 'four trainings');
    expect(await accepted()).toEqual([c1, c2, c3, c4]);
    // One training per commit: the restart replayed c1 and c2 without sending them again.
    expect(world.experiments.map((e) => e.commit)).toEqual([c1, c2, c3, c4]);
    // The watcher logs an answer when its Update call returns, which can be after a query sees the commit.
    const trainingAnswers = () => events.filter((e) => e.startsWith('watch.answer') && e.includes('"training"'));
    await waitFor(async () => trainingAnswers().length >= 4, "the watcher's fourth answer");
    expect(trainingAnswers()).toHaveLength(4);

    // A commit in the output repo cascades into the deployer.
    const out = await putFiles(pachd.url, pipeline.output.repo, pipeline.output.branch, { '/model-info.yaml': 'name: x' });
    const deployer = env.client.workflow.getHandle(deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name));
    await waitFor(async () => (await deployer.query(deployerStatusQuery)).accepted.includes(out), 'the output commit at the deployer');
    await watcher.stop();
    await repo.terminate('test done');
    await deployer.terminate('test done');
  });
});

test("the watcher's signal does not collect a listener per commit forwarded or per retry (a watcher runs for months)", async () => {
  const world = createFakeWorld();
  const pipeline = { ...testPipeline({ training: { mode: 'per-commit', pollInterval: '1s', timeout: '1h' } }), input: { project: 'default', repo: 'listeners', branch: 'master' } };
  const taskQueue = 'watcher-listeners';
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...testWorkflowBundle(), activities: createFakeActivities(world) });
  const abort = new AbortController();
  // The output repository does not exist: that subscription retries (and sleeps) all along.
  const done = runWatcher({
    client: env.client,
    taskQueue,
    pipelines: [{ ...pipeline, output: { ...pipeline.output, repo: 'listeners-missing-output' } }],
    pachd: new PachydermClient({ pachyderm: { url: pachd.url }, timeoutMs: 10_000 }),
    signal: abort.signal,
    retryDelayMs: 50,
    log: () => undefined,
  });
  const repo = env.client.workflow.getHandle(repositoryWorkflowId(pipeline.input));
  await worker.runUntil(async () => {
    for (let i = 0; i < 12; i++) await putFiles(pachd.url, pipeline.input.repo, pipeline.input.branch, { [`/f${i}.txt`]: `${i}` });
    await waitFor(async () => (await repo.query(repositoryStatusQuery)).accepted.length === 12, 'twelve commits accepted');
    // The open input subscription and the output's retry sleep hold one each; nothing else stays.
    expect(getEventListeners(abort.signal, 'abort').length).toBeLessThanOrEqual(3);
    await repo.terminate('test done'); // its queued trainings are not this test's concern
    abort.abort();
    await done;
  });
});
