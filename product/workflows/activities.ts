// Activity proxies, grouped by how long they may take. Every group has explicit timeouts and a retry
// policy: transient failures (5xx, 429, resets) retry with backoff; typed non-retryable ones do not.
import { proxyActivities, proxyLocalActivities, ActivityCancellationType, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import type { TrainingSettings, DeploymentSettings } from '../common/pipeline';
import { durationToMs } from '../common/duration';

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
};

// Cancellation waits for the running attempt to end (WAIT_CANCELLATION_COMPLETED) for every activity
// that writes: a cleanup or rollback that starts while an abandoned attempt is still in flight could be
// overtaken by it (an experiment created after the cleanup looked, a rollout applied after the rollback).

/** Quick API calls: a few seconds each; keep retrying through an outage of up to 30 minutes. */
export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '30m',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
});

/**
 * Quick calls that heartbeat while they block (submitExperiment's git fetch, deployModel): a dead
 * worker is noticed within the heartbeat timeout instead of the 2-minute start-to-close timeout.
 */
export const quickHeartbeating = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
});

/**
 * Cleanup that must happen however the run ends (stopRunExperiments): retried without limit until it
 * succeeds, i.e. until Determined confirms every experiment of the run stopped. Called from a
 * non-cancellable scope.
 */
export const cleanup = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry,
});

/**
 * The quick calls lookupModel (which also creates the registry model when missing: idempotent), readModelInfo
 * and getDeployedModel (reads) as local activities: they run
 * on the worker inside the workflow task that asks for them, so they cost no activity task and no extra
 * workflow task round trip through the server (~40 ms each on the dev server). They are idempotent: a
 * worker dying mid-call makes the workflow task time out, and the next worker runs them again. Same
 * per-attempt timeout and outage tolerance as `quick`.
 */
export const quickLocal = proxyLocalActivities<Activities>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '30m',
  // Backoffs up to 10 s are waited inside the workflow task; longer ones on a durable timer, so an
  // outage does not hold a workflow task open (and heartbeating) for minutes.
  localRetryThreshold: '10s',
  retry,
});

/** Streaming work whose length grows with the data (diffs, git fetches, checkpoint copies): heartbeats. */
export const streaming = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  scheduleToCloseTimeout: '6h',
  heartbeatTimeout: '1m',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
});

/**
 * The long poll of a Determined experiment. It heartbeats every poll, so a worker crash is noticed
 * within the heartbeat timeout (20 s, or two poll intervals when polls are rarer) and the next attempt
 * resumes from the heartbeat details; cancellation waits for the activity to kill the experiment.
 * `training.timeout` is NOT enforced here: the training workflow's durable timer bounds the whole wait
 * (training.ts); an attempt merely cannot outlive it.
 */
export function experimentWaiter(training: TrainingSettings) {
  return proxyActivities<Activities>({
    startToCloseTimeout: durationToMs(training.timeout) + 60_000,
    heartbeatTimeout: Math.max(20_000, 2 * durationToMs(training.pollInterval) + 5_000),
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  }).waitForExperiment;
}

/**
 * Waiting for a Seldon deployment to become Available (the rollout and its rollback), bounded by the
 * pipeline's readyTimeout: the deployment workflow's timer enforces it; the activity also does.
 */
export function deploymentWaiter(deployment: DeploymentSettings) {
  return proxyActivities<Activities>({
    // The activity enforces readyTimeout itself; a minute more leaves it time to say so.
    startToCloseTimeout: durationToMs(deployment.readyTimeout) + 60_000,
    heartbeatTimeout: '1m',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...retry, maximumAttempts: 3 },
  }).waitForDeploymentReady;
}
