// Faults of the Temporal cluster itself (the cluster stack: one process per service on PostgreSQL), while
// pipelines run on the emulators (simulated timing): the history service SIGKILLed during a training's wait
// for its experiment and during a deployment's wait for its rollout, then started again; PostgreSQL stopped
// and started again during a training's wait. After each, every run completes and every side effect exists
// exactly once, read back from the emulators' APIs (one model version, experiment, output commit, deployment,
// detector of each kind).
import fs from 'node:fs';
import type { Worker } from '@temporalio/worker';
import { createWorker } from 'continuous-training/worker/create-worker';
import { runWatcher } from 'continuous-training/client/watcher';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { deploymentWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import type { TrainingResult } from 'continuous-training/workflows/training';
import { startLocalStack, type LocalStack } from '../../local-stack';
import { EffectsReader, expectExactlyOnce } from '../reliability/helpers/effects';
import { commitData, uniquePipeline, waitForPipeline, waitForRunningActivity } from '../reliability/helpers/testbed';
import { clusterStateDir, describeOnCluster, startTemporalTarget, type TemporalTarget } from '../helpers/temporal-target';
import { testWorkflowBundlePath } from 'continuous-training/test/helpers/workflow-bundle';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeOnCluster('cluster faults: every run completes, each side effect once', () => {
  let target: TemporalTarget;
  let stack: LocalStack;
  let worker: Worker;
  let workerDone: Promise<void>;
  const abort = new AbortController();
  let watcherDone: Promise<void>;
  const taskQueue = 'cluster-faults';
  const pipelines: PipelineSpec[] = [];

  const stackDir = clusterStateDir('cluster-faults-stack');

  beforeAll(async () => {
    target = await startTemporalTarget('cluster');
    stack = await startLocalStack({
      stateDir: stackDir,
      mode: 'simulated',
      // Long enough waits to hit: the experiment runs 8 s, a rollout becomes Available after 8 s.
      determinedDelays: { queuedMs: 100, pullingMs: 100, startingMs: 100, runningMs: 8000 },
      seldonAvailableDelayMs: 8000,
    });
    for (const id of ['hist-training', 'hist-deploy', 'pg-restart']) pipelines.push(uniquePipeline(stack, `cf-${id}`));
    worker = await createWorker({ connection: target.nativeConnection, namespace: target.namespace, taskQueue, connections: stack.connections , workflowBundlePath: testWorkflowBundlePath() });
    workerDone = worker.run();
    watcherDone = runWatcher({
      client: target.client,
      taskQueue,
      pipelines,
      pachd: new PachydermClient(stack.connections),
      signal: abort.signal,
      retryDelayMs: 200,
      log: () => undefined,
    });
  }, 300_000);

  afterAll(async () => {
    abort.abort();
    await watcherDone?.catch(() => undefined);
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await workerDone?.catch(() => undefined);
    await stack?.close();
    await target?.close();
    fs.rmSync(stackDir, { recursive: true, force: true });
  }, 120_000);

  /** A run's result, once the watcher (or the training) has started it. */
  async function resultOf<T>(workflowId: string): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return (await target.client.workflow.getHandle(workflowId).result()) as T;
      } catch (err) {
        if ((err as Error).name !== 'WorkflowNotFoundError' || tries > 300) throw err;
        await sleep(200);
      }
    }
  }

  /** Commits a batch and returns the commit; the watcher starts the training. */
  const start = (p: PipelineSpec) => commitData(stack, p, 1);

  async function expectCompletedOnce(p: PipelineSpec, commit: string): Promise<void> {
    const run = await waitForPipeline(target.client, p, commit, 300_000);
    expect(run.training.status).toBe('trained');
    expect(run.deployment?.status).toBe('deployed');
    expectExactlyOnce(await new EffectsReader(stack.connections).read(p), [commit]);
  }

  test('SIGKILL of the history service during the training\'s wait for its experiment, then a restart', async () => {
    const p = pipelines[0]!;
    const commit = await start(p);
    await waitForRunningActivity(target.client, trainingWorkflowId(p.modelName, commit), 'waitForExperiment');
    const history = target.cluster!.service('history');
    await history.kill('SIGKILL');
    expect(history.pid()).toBeUndefined();
    await sleep(3000); // the experiment goes on without the server
    await history.start();
    await expectCompletedOnce(p, commit);
  }, 420_000);

  test('SIGKILL of the history service during the deployment\'s wait for its rollout, then a restart', async () => {
    const p = pipelines[1]!;
    const commit = await start(p);
    const training = await resultOf<TrainingResult>(trainingWorkflowId(p.modelName, commit));
    if (training.status !== 'trained') throw new Error(`training did not train: ${JSON.stringify(training)}`);
    const deployId = deploymentWorkflowId(p.deployment.namespace, p.deployment.name, training.outputCommit);
    await waitForRunningActivity(target.client, deployId, 'waitForDeploymentReady');
    const history = target.cluster!.service('history');
    await history.kill('SIGKILL');
    await sleep(3000);
    await history.start();
    await expectCompletedOnce(p, commit);
  }, 420_000);

  test('PostgreSQL stopped during the training\'s wait, then started again', async () => {
    const p = pipelines[2]!;
    const commit = await start(p);
    await waitForRunningActivity(target.client, trainingWorkflowId(p.modelName, commit), 'waitForExperiment');
    await target.cluster!.postgres.stop();
    await sleep(5000); // the services keep running and retry; the worker's heartbeats fail meanwhile
    await target.cluster!.postgres.start();
    await expectCompletedOnce(p, commit);
  }, 420_000);
});
