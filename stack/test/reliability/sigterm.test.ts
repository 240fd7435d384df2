// A worker stopped as Kubernetes stops a pod: SIGTERM in the middle of a training's experiment wait. It stops
// polling, its running activity ends within the shutdown grace (CT_SHUTDOWN_GRACE), it exits 0, and the
// training goes on on another worker from the wait's heartbeat: nothing lost, every side effect once.
import { trainingWorkflowId } from 'continuous-training/common/ids';
import { EffectsReader, expectExactlyOnce } from './helpers/effects';
import { killAllWorkers, spawnWorker } from './helpers/worker-process';
import { activityAttempts, commitData, startTestbed, uniquePipeline, waitForPipeline, waitForRunningActivity, type Testbed } from './helpers/testbed';

const QUEUE = 'sigterm';
let tb: Testbed;

beforeAll(async () => {
  // A 6 s experiment: long enough to be stopped in the middle of its wait.
  tb = await startTestbed({ determinedDelays: { queuedMs: 50, pullingMs: 50, startingMs: 50, runningMs: 6000 }, seldonAvailableDelayMs: 300 });
}, 180_000);

afterAll(async () => {
  await killAllWorkers();
  await tb?.close();
}, 120_000);

test('SIGTERM during the experiment wait: the worker exits 0 within its grace, another worker finishes the run, each side effect once', async () => {
  const p = uniquePipeline(tb.stack, 'sigterm');
  tb.watch([p], QUEUE);
  const workerOptions = { temporalAddress: tb.env.address, taskQueue: QUEUE, connections: tb.stack.connections, env: { CT_SHUTDOWN_GRACE: '3s' } };
  const first = await spawnWorker(workerOptions);
  const commit = await commitData(tb.stack, p, 1);
  const workflowId = trainingWorkflowId(p.modelName, commit);
  const wait = await waitForRunningActivity(tb.client, workflowId, 'waitForExperiment');
  expect(wait.lastWorkerIdentity).toBe(first.identity);

  expect(await first.terminate()).toBe(0);
  expect(first.output.filter((l) => l.includes('"level":"error"'))).toEqual([]);

  await spawnWorker(workerOptions);
  const run = await waitForPipeline(tb.client, p, commit);
  expect(run.training.status).toBe('trained');
  expect(run.deployment?.status).toBe('deployed');
  // One experiment however many attempts the wait took: the second resumed the first's.
  expect((await activityAttempts(tb.client, workflowId, 'submitExperiment')).length).toBe(1);
  expectExactlyOnce(await new EffectsReader(tb.stack.connections).read(p), [commit]);
}, 240_000);
