// Failure types shared by activities and workflows (ApplicationFailure `type` strings).
// Non-retryable ones are errors a retry cannot fix; the workflows match on them.
export const ErrorType = {
  /** A 4xx the server will answer the same way again (bad request, not found, conflict). */
  BadRequest: 'BadRequest',
  NotFound: 'NotFound',
  /** Wrong or missing credentials. */
  Unauthenticated: 'Unauthenticated',
  /** The worker's credentials lack a role the step needs (the message names it): an operator must grant it. */
  PermissionDenied: 'PermissionDenied',
  /** The experiment config or pipeline config is invalid. */
  InvalidConfig: 'InvalidConfig',
  /** The input commit does not exist, failed, or cannot be used. */
  InvalidCommit: 'InvalidCommit',
  /** Experiment ended in ERROR, CANCELED or DELETED. */
  ExperimentFailed: 'ExperimentFailed',
  /** The experiment did not reach a terminal state within `training.timeout`: it was killed. */
  TrainingTimedOut: 'TrainingTimedOut',
  /** Experiment finished without a usable checkpoint. */
  NoCheckpoint: 'NoCheckpoint',
  /** The experiment's best checkpoint has no value of the searcher metric (never reported): nothing registered. */
  MissingSearcherMetric: 'MissingSearcherMetric',
  /** model-info.yaml missing, malformed, or not matching the model registry. */
  InvalidModelInfo: 'InvalidModelInfo',
  /** A checkpoint path that would escape its folder (`..`, absolute). */
  UnsafePath: 'UnsafePath',
  /** Seldon rejected the deployment or it went Failed / did not become ready in time. */
  DeploymentFailed: 'DeploymentFailed',
  /** The git repository, ref or path does not exist. */
  GitSource: 'GitSource',
  /** Retryable: 5xx, 429, timeouts, connection resets. */
  Unavailable: 'Unavailable',
} as const;

export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];
