// The product's domain metrics: emitted through the Temporal Runtime's metric meter (the workflow's
// `metricMeter`, which skips replays, and the activity context's), so they appear on the worker's
// Prometheus endpoint (CT_METRICS_ADDRESS) beside the SDK's temporal_* metrics. Names only here, so the
// worker can set histogram buckets and the tests can read the same names.
export const Metric = {
  /** Trainings started, by pipeline. */
  trainingsStarted: 'ct_trainings_started',
  /** Trainings ended, by pipeline and outcome (completed, skipped, failed, timed_out, cancelled). */
  trainingsEnded: 'ct_trainings_ended',
  /** Seconds from a training's start to its end, by pipeline and outcome. */
  trainingDuration: 'ct_training_duration_seconds',
  /** Seconds from an experiment's submission to its terminal state, by pipeline and state. */
  experimentWait: 'ct_experiment_wait_seconds',
  /** Rollouts ended, by pipeline, deployment and outcome (deployed, skipped, failed, cancelled). */
  deployments: 'ct_deployments',
  /** Rollouts rolled back to what served before, by pipeline and deployment. */
  rollbacks: 'ct_rollbacks',
  /** Detectors made to match a rollout, by deployment, kind and action (created, replaced, kept). */
  detectors: 'ct_detectors',
  /** Commits sent to a repository workflow, by pipeline and answer (accepted, already_queued, already_trained, rejected). */
  commits: 'ct_commits',
} as const;

/** Outcomes as metric label values (Prometheus style: no dashes). */
export function label(value: string): string {
  return value.replace(/[^A-Za-z0-9_]/g, '_');
}

/** Buckets of the duration histograms, in seconds: trainings last minutes to hours. */
export const DURATION_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200];

export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [Metric.trainingDuration]: DURATION_BUCKETS_SECONDS,
  [Metric.experimentWait]: DURATION_BUCKETS_SECONDS,
};
