// The two readers of a run (client/run-view.ts) against a dev server with a worker: `ct status`'s own calls
// without the SDK (wire-run-reader.ts) must read every kind of run exactly as the SDK's client does
// (sdk-run-reader.ts), which `ct status --follow`, `ct trigger --wait` and the demo use.
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLocalEnv } from '../helpers/temporal';
import { createFakeActivities, createFakeWorld } from '../helpers/fake-activities';
import { testPipeline } from '../helpers/pipeline';
import { testWorkflowBundle } from '../helpers/workflow-bundle';
import { trainingStatusQuery, trainingWorkflow } from '../../workflows';
import { loadTemporalConfig } from '../../worker/temporal-config';
import { readRun, type RunView } from '../../client/run-view';
import { sdkRunReader } from '../../client/sdk-run-reader';
import { wireRunReader } from '../../client/wire-run-reader';
import { NotFoundError } from '../../client/cli-support';

const taskQueue = 'run-readers';
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createLocalEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** Both readers on the same run; they must agree field by field. */
async function readBoth(workflowId: string): Promise<RunView> {
  const sdk = await readRun(sdkRunReader(env.client), workflowId);
  const wire = await readRun(wireRunReader(loadTemporalConfig({ TEMPORAL_ADDRESS: env.address, HOME: '/nonexistent' })), workflowId);
  expect(wire).toEqual(sdk);
  return wire;
}

test('running (with the experiment wait heartbeating), completed, failed, cancelled, terminated and timed-out runs read the same both ways', async () => {
  const world = createFakeWorld();
  world.holdExperiments = true;
  world.experimentProgress = 0.4;
  world.failingCommits.add('failing');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...testWorkflowBundle(),
    activities: createFakeActivities(world),
    maxHeartbeatThrottleInterval: '100ms',
  });
  const start = (commit: string, opts: { workflowExecutionTimeout?: '3s' } = {}) =>
    env.client.workflow.start(trainingWorkflow, { taskQueue, workflowId: `readers-${commit}`, args: [{ pipeline: testPipeline(), commit }], ...opts });
  const waiting = async (workflowId: string) => {
    for (let i = 0; i < 300; i++) {
      const status = await env.client.workflow.getHandle(workflowId).query(trainingStatusQuery);
      if (status.step === 'wait-experiment' && status.experiment) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${workflowId} never waited for its experiment`);
  };
  await worker.runUntil(async () => {
    const [held, cancelled, terminated, timedOut] = await Promise.all(['held', 'cancelled', 'terminated', 'timed-out'].map((c) => start(c, c === 'timed-out' ? { workflowExecutionTimeout: '3s' } : {})));
    await Promise.all([held, cancelled, terminated, timedOut].map((h) => waiting(h.workflowId)));
    // The wait's heartbeat carries the experiment's progress, which the status query has only at state changes.
    for (let i = 0; i < 50 && !(await env.client.workflow.getHandle(held.workflowId).describe()).raw.pendingActivities?.[0]?.heartbeatDetails; i++) await new Promise((r) => setTimeout(r, 100));
    const running = await readBoth(held.workflowId);
    expect(running).toMatchObject({ state: 'RUNNING', type: 'trainingWorkflow', status: { step: 'wait-experiment' }, experiment: { state: 'RUNNING', progress: 0.4 } });
    expect([running.close, running.failure]).toEqual([undefined, undefined]);

    await cancelled.cancel();
    await terminated.terminate('stopped by the test\nsecond line');
    await expect(timedOut.result()).rejects.toThrow(/timed out/);
    await expect(cancelled.result()).rejects.toThrow();
    expect(await readBoth(cancelled.workflowId)).toMatchObject({ state: 'CANCELLED', failure: 'Workflow canceled', status: { steps: expect.any(Array) } });
    expect(await readBoth(terminated.workflowId)).toMatchObject({ state: 'TERMINATED', failure: 'stopped by the test', close: expect.any(Date) });
    expect(await readBoth(timedOut.workflowId)).toMatchObject({ state: 'TIMED_OUT', failure: 'Workflow execution timed out' });

    world.holdExperiments = false;
    const failing = await start('failing');
    await expect(failing.result()).rejects.toThrow();
    const failed = await readBoth(failing.workflowId);
    expect(failed).toMatchObject({ state: 'FAILED', failure: expect.stringContaining('ERROR') });

    await held.result();
    const completed = await readBoth(held.workflowId);
    expect(completed).toMatchObject({ state: 'COMPLETED', status: { result: { status: 'trained' } } });
    expect(completed.failure).toBeUndefined();
    expect(completed.close!.getTime()).toBeGreaterThan(completed.start.getTime());
  });
});

test('a workflow the worker cannot run: the status is unavailable, with the reason, both ways', async () => {
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...testWorkflowBundle(), activities: createFakeActivities(createFakeWorld()) });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('noSuchWorkflow', { taskQueue, workflowId: 'readers-unknown-type', args: [] });
    // Read once its workflow task has failed twice: before that, the server hands the query to the worker, which
    // cannot answer it (the query times out after 30 s).
    const retried = async () => ((await handle.describe()).raw.pendingWorkflowTask?.attempt ?? 0) >= 3;
    for (let i = 0; i < 100 && !(await retried()); i++) await new Promise((r) => setTimeout(r, 100));
    const view = await readBoth(handle.workflowId);
    expect(view).toMatchObject({ state: 'RUNNING', type: 'noSuchWorkflow', status: null, statusUnavailable: 'Unable to query workflow due to Workflow Task in failed state.' });
    await handle.terminate('test done');
  });
});

test('an unknown workflow is NotFoundError both ways', async () => {
  const config = loadTemporalConfig({ TEMPORAL_ADDRESS: env.address, HOME: '/nonexistent' });
  await expect(readRun(wireRunReader(config), 'readers-no-such')).rejects.toThrow(NotFoundError);
  await expect(readRun(sdkRunReader(env.client), 'readers-no-such')).rejects.toThrow(NotFoundError);
});
