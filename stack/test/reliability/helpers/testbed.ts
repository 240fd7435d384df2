// One dev server + one emulator stack per test file, pipelines with unique names, their watchers, and
// the Temporal-side tools of the reliability tests: waiting for a pipeline, finding where an activity
// runs, and reporting the attempt of a killed worker as failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { createLocalEnv } from 'continuous-training/test/helpers/temporal';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../../local-stack';
import { demoPipeline } from '../../../demo-pipeline';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { runWatcher } from 'continuous-training/client/watcher';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { deploymentWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import type { TrainingResult } from 'continuous-training/workflows/training';
import type { DeploymentResult } from 'continuous-training/workflows/deployment';
import { killAllWorkers } from './worker-process';

export const FULL = process.env.CT_FULL_RELIABILITY === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Testbed {
  env: TestWorkflowEnvironment;
  client: Client;
  stack: LocalStack;
  stateDir: string;
  /** Starts a watcher for these pipelines on this task queue (stopped by `close`). */
  watch(pipelines: PipelineSpec[], taskQueue: string): void;
  watcherLog: string[];
  close(): Promise<void>;
}

export async function startTestbed(stackOptions: Partial<LocalStackOptions> = {}): Promise<Testbed> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-rel-'));
  const env = await createLocalEnv();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      stateDir,
      mode: 'simulated',
      determinedDelays: { queuedMs: 100, pullingMs: 100, startingMs: 100, runningMs: 1500 },
      seldonAvailableDelayMs: 1500,
      ...stackOptions,
    });
  } catch (err) {
    await env.teardown();
    throw err;
  }
  const aborts: AbortController[] = [];
  const watchers: Promise<void>[] = [];
  const watcherLog: string[] = [];
  return {
    env,
    client: env.client,
    stack,
    stateDir,
    watcherLog,
    watch(pipelines, taskQueue) {
      const abort = new AbortController();
      aborts.push(abort);
      watchers.push(
        runWatcher({
          client: env.client,
          taskQueue,
          pipelines,
          pachd: new PachydermClient(stack.connections),
          signal: abort.signal,
          retryDelayMs: 200,
          log: (event, fields) => {
            if (watcherLog.length < 2000) watcherLog.push(`${event} ${JSON.stringify(fields)}`);
          },
        }).catch(() => undefined),
      );
    },
    async close() {
      for (const a of aborts) a.abort();
      await killAllWorkers();
      await Promise.all(watchers);
      await stack.close();
      await env.teardown();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The demo pipeline under unique names (input and output repos, model, deployment). */
export function uniquePipeline(stack: LocalStack, id: string, overrides: { pollInterval?: string } = {}): PipelineSpec {
  const p = demoPipeline(stack.experimentRepo, { pollInterval: overrides.pollInterval ?? '1s' });
  return {
    ...p,
    name: id,
    input: { ...p.input, repo: id },
    modelName: id,
    output: { ...p.output, repo: `${id}-model` },
    deployment: { ...p.deployment, name: id, readyTimeout: '2m' },
  };
}

/** Commits a small batch of training data to the pipeline's input branch. */
export async function commitData(stack: LocalStack, pipeline: PipelineSpec, n: number, extra: Record<string, string> = {}): Promise<string> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 3; i++) files[`/batch-${n}/img-${i}.txt`] = Buffer.from(`${pipeline.name} batch ${n} image ${i}`);
  for (const [k, v] of Object.entries(extra)) files[k] = Buffer.from(v);
  return putFiles({ url: stack.pachd.url, authToken: stack.connections.pachyderm.token }, pipeline.input.repo, pipeline.input.branch, files, {
    description: `batch ${n}`,
  });
}

async function resultOf<T>(client: Client, workflowId: string, deadline: number): Promise<T> {
  for (;;) {
    try {
      return (await client.workflow.getHandle(workflowId).result()) as T;
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError' || Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

export interface PipelineRun {
  training: TrainingResult;
  deployment: DeploymentResult | null;
}

/** Waits for the training of `commit` and, when it trained, for the deployment of its output commit. */
export async function waitForPipeline(client: Client, pipeline: PipelineSpec, commit: string, timeoutMs = 240_000): Promise<PipelineRun> {
  const deadline = Date.now() + timeoutMs;
  const training = await resultOf<TrainingResult>(client, trainingWorkflowId(pipeline.modelName, commit), deadline);
  if (training.status !== 'trained') return { training, deployment: null };
  const deployment = await resultOf<DeploymentResult>(
    client,
    deploymentWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name, training.outputCommit),
    deadline,
  );
  return { training, deployment };
}

export type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** Polls the workflow until an activity of this type is running (started by a worker), and returns it. */
export async function waitForRunningActivity(client: Client, workflowId: string, activityType: string, timeoutMs = 120_000): Promise<PendingActivity> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { raw } = await client.workflow.getHandle(workflowId).describe();
      const running = (raw.pendingActivities ?? []).find((p) => p.activityType?.name === activityType && p.state === STARTED);
      if (running) return running;
      if (raw.workflowExecutionInfo?.closeTime) throw new Error(`${workflowId} closed before ${activityType} ran`);
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
    }
    if (Date.now() > deadline) throw new Error(`${activityType} never ran in ${workflowId}`);
    await sleep(50);
  }
}

/** Long-polls a workflow's history until an event matches; returns it. */
export async function waitForHistoryEvent(
  client: Client,
  workflowId: string,
  matches: (e: temporal.api.history.v1.IHistoryEvent) => boolean,
  timeoutMs = 120_000,
): Promise<temporal.api.history.v1.IHistoryEvent> {
  const deadline = Date.now() + timeoutMs;
  let nextPageToken: Uint8Array | undefined;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`no such event in ${workflowId}`);
    try {
      const res = await client.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId },
        nextPageToken,
        waitNewEvent: true,
      });
      const hit = (res.history?.events ?? []).find(matches);
      if (hit) return hit;
      if (!res.nextPageToken?.length) throw new Error(`${workflowId} closed without such an event`);
      nextPageToken = res.nextPageToken;
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
      await sleep(50);
    }
  }
}

/**
 * The activities a killed worker was running, found in the open workflows of its task queue. Without
 * intervention Temporal retries each once its heartbeat or start-to-close timeout expires (1 or 2 min).
 * Unless CT_FULL_RELIABILITY=1, the test reports each such attempt as failed (retryable, keeping its
 * last heartbeat details), which is what the server does at the timeout, minus the wait.
 */
export async function expediteAbandoned(client: Client, taskQueue: string, identity: string): Promise<string[]> {
  const done: string[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    const { raw } = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
    for (const p of raw.pendingActivities ?? []) {
      if (p.state !== STARTED || p.lastWorkerIdentity !== identity) continue;
      try {
        await client.workflowService.respondActivityTaskFailedById({
          namespace: 'default',
          workflowId: wf.workflowId,
          runId: wf.runId,
          activityId: p.activityId,
          identity: 'reliability-test',
          failure: {
            message: `worker ${identity} was killed (reported by the test instead of waiting for the timeout)`,
            applicationFailureInfo: { type: 'WorkerKilled', nonRetryable: false },
          },
          lastHeartbeatDetails: p.heartbeatDetails,
        });
        done.push(`${wf.workflowId}/${p.activityType?.name}`);
      } catch (err) {
        if (!/not found|already/i.test((err as Error).message)) throw err;
      }
    }
  }
  return done;
}

/** Attempts of each call of an activity type, from a closed workflow's history (ActivityTaskStarted.attempt, or a local activity's marker). */
export async function activityAttempts(client: Client, workflowId: string, activityType: string): Promise<number[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts: number[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.get(String(started.scheduledEventId)) === activityType) attempts.push(started.attempt ?? 0);
    // A local activity leaves one marker with its last attempt (lookupModel, readModelInfo, getDeployedModel).
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
    if (data) {
      const local = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string; attempt?: number };
      if (local.activity_type === activityType) attempts.push(local.attempt ?? 0);
    }
  }
  return attempts;
}
