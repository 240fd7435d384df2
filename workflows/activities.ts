// Activity proxies, grouped by how long they may take. Every group has explicit timeouts and a retry
// policy: transient failures (5xx, 429, resets) retry with backoff; typed non-retryable ones do not.
import { proxyActivities, ActivityCancellationType, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import type { TrainingSettings, DeploymentSettings } from '../common/pipeline';
import { durationToMs } from '../common/duration';

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
};

/** Quick API calls: a few seconds each; keep retrying through an outage of up to 30 minutes. */
export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '30m',
  retry,
});

/** Streaming work whose length grows with the data (diffs, git fetches, checkpoint copies): heartbeats. */
export const streaming = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  scheduleToCloseTimeout: '6h',
  heartbeatTimeout: '1m',
  retry,
});

/**
 * The long poll of a Determined experiment. It heartbeats every poll, so a worker crash is noticed
 * within the heartbeat timeout (20 s, or two poll intervals when polls are rarer) and the next attempt
 * resumes from the heartbeat details; cancellation waits for the activity to kill the experiment.
 */
export function experimentWaiter(training: TrainingSettings) {
  return proxyActivities<Activities>({
    startToCloseTimeout: durationToMs(training.timeout),
    heartbeatTimeout: Math.max(20_000, 2 * durationToMs(training.pollInterval) + 5_000),
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  }).waitForExperiment;
}

/** Waiting for a Seldon deployment to become Available, bounded by the pipeline's readyTimeout. */
export function deploymentWaiter(deployment: DeploymentSettings) {
  return proxyActivities<Activities>({
    // The activity enforces readyTimeout itself; a minute more leaves it time to say so.
    startToCloseTimeout: durationToMs(deployment.readyTimeout) + 60_000,
    heartbeatTimeout: '1m',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...retry, maximumAttempts: 3 },
  }).waitForDeploymentReady;
}
