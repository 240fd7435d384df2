// One commit through the product, as the orchestration and throughput benchmarks drive it: signal-with-start
// of the repository workflow (client/signals.ts), the training's result, then the cascade (signalDeploy,
// what the watcher does when the output commit appears) and the deployment's result. Timings come
// from the workflows' status queries and the server's close times.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { signalDeploy, signalNewCommit } from '../../client/signals';
import { deploymentWorkflowId, trainingWorkflowId } from '../../common/ids';
import type { PipelineSpec } from '../../common/pipeline';
import type { TrainingResult, TrainingStatus } from '../../workflows/training';
import type { DeploymentResult, DeploymentStatus } from '../../workflows/deployment';
import type { StepTiming } from './direct';
import { sleep } from './harness';

export interface OrchestratedRun {
  commit: string;
  outputCommit: string;
  steps: StepTiming[];
  /** Milliseconds from just before the signal. */
  trainingClosedMs: number;
  deploymentStartedMs: number;
  availableMs: number;
  doneMs: number;
}

async function resultOf<R>(client: Client, workflowId: string, timeoutMs: number): Promise<R> {
  const handle = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await handle.result()) as R;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || Date.now() > deadline) throw err;
      await sleep(5);
    }
  }
}

export async function runOrchestrated(client: Client, taskQueue: string, pipeline: PipelineSpec, commit: string, timeoutMs = 120_000): Promise<OrchestratedRun> {
  const t0 = Date.now();
  await signalNewCommit(client, taskQueue, pipeline, commit);
  const trainingId = trainingWorkflowId(pipeline.modelName, commit);
  const training = await resultOf<TrainingResult>(client, trainingId, timeoutMs);
  if (training.status !== 'trained') throw new Error(`training ${trainingId} ${training.status}: ${training.reason}`);
  await signalDeploy(client, taskQueue, pipeline, training.outputCommit, 'cascade');
  const deployId = deploymentWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name, training.outputCommit);
  const deployed = await resultOf<DeploymentResult>(client, deployId, timeoutMs);
  if (deployed.status !== 'deployed') throw new Error(`deployment ${deployId} ${deployed.status}`);

  const trainingHandle = client.workflow.getHandle(trainingId);
  const deployHandle = client.workflow.getHandle(deployId);
  const [tDesc, dDesc, tStatus, dStatus] = await Promise.all([
    trainingHandle.describe(),
    deployHandle.describe(),
    trainingHandle.query<TrainingStatus>('status'),
    deployHandle.query<DeploymentStatus>('status'),
  ]);
  const since = (d: Date | string | undefined) => (d ? new Date(d).getTime() - t0 : NaN);
  const waitReady = dStatus.steps.find((s) => s.name === 'wait-ready');
  return {
    commit,
    outputCommit: training.outputCommit,
    steps: [...tStatus.steps, ...dStatus.steps].map((s) => ({ name: s.name, ms: s.durationMs ?? NaN })),
    trainingClosedMs: since(tDesc.closeTime),
    deploymentStartedMs: since(dDesc.startTime),
    availableMs: since(waitReady?.endedAt),
    doneMs: since(dDesc.closeTime),
  };
}
