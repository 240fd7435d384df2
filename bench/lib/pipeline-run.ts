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
  /** Per activity of both workflows, in order, from their histories. */
  phases: ActivityPhases[];
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

export async function runOrchestrated(client: Client, taskQueue: string, pipeline: PipelineSpec, commit: string, withPhases = false, timeoutMs = 120_000): Promise<OrchestratedRun> {
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
    phases: withPhases ? [...(await activityPhases(client, trainingId)), ...(await activityPhases(client, deployId))] : [],
  };
}

/** Where an activity step's time goes, from the workflow's history (milliseconds per activity). */
export interface ActivityPhases {
  activity: string;
  /** Workflow task started → completed (the task whose commands schedule the activity). */
  scheduleTask: number;
  /** ActivityTaskScheduled → ActivityTaskStarted: the task reaching a worker. */
  dispatch: number;
  /** ActivityTaskStarted → ActivityTaskCompleted: running it and reporting the result. */
  execute: number;
  /** ActivityTaskCompleted → the next WorkflowTaskStarted: the result reaching the workflow. */
  resume: number;
  /** Whether the workflow task carrying the result went to the worker's sticky queue. */
  sticky: boolean;
}

export async function activityPhases(client: Client, workflowId: string): Promise<ActivityPhases[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = (history.events ?? []).map((e) => ({
    e,
    t: Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6),
  }));
  const out: ActivityPhases[] = [];
  for (let i = 0; i < events.length; i++) {
    if (!events[i].e.activityTaskScheduledEventAttributes) continue;
    const scheduled = events[i];
    const id = Number(scheduled.e.eventId);
    const taskCompleted = [...events.slice(0, i)].reverse().find((x) => x.e.workflowTaskCompletedEventAttributes);
    const taskStarted = [...events.slice(0, i)].reverse().find((x) => x.e.workflowTaskStartedEventAttributes);
    const started = events.find((x) => Number(x.e.activityTaskStartedEventAttributes?.scheduledEventId) === id);
    const completedIdx = events.findIndex((x) => Number(x.e.activityTaskCompletedEventAttributes?.scheduledEventId) === id);
    if (!started || completedIdx < 0 || !taskStarted || !taskCompleted) continue;
    const completed = events[completedIdx];
    const next = events.slice(completedIdx).find((x) => x.e.workflowTaskStartedEventAttributes);
    const nextScheduled = events.slice(completedIdx).find((x) => x.e.workflowTaskScheduledEventAttributes);
    out.push({
      activity: scheduled.e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
      scheduleTask: taskCompleted.t - taskStarted.t,
      dispatch: started.t - scheduled.t,
      execute: completed.t - started.t,
      resume: next ? next.t - completed.t : NaN,
      sticky: Number(nextScheduled?.e.workflowTaskScheduledEventAttributes?.taskQueue?.kind) === 2,
    });
  }
  return out;
}
