// Inputs and results of the activities. Every one is small (bounded whatever the size of a commit or
// checkpoint): file lists, model definitions and checkpoints stay in Pachyderm, Determined or a worker cache.
import type { RepoRef, ExperimentSource, PipelineSpec, DeploymentSettings, DetectorSettings } from './pipeline';

export interface FileCount {
  files: number;
  bytes: number;
}

/** What a commit changed against its base; never the file list. */
export interface DiffSummary {
  commit: string;
  /** The commit diffed against: the one the current model was trained on; null when the whole tree was counted. */
  baseCommit: string | null;
  added: FileCount;
  modified: FileCount;
  deleted: FileCount;
  /** Files left out by the training's exclude patterns (`ct retry --exclude`); present only with patterns. */
  excluded?: FileCount;
  /** sha256 over the sorted (path, hash, change) lines: identifies the exact change set. */
  digest: string;
  /** `data` when there is something to train on (added or modified files). */
  kind: 'data' | 'empty' | 'deletions-only';
}

export interface DiffCommitInput {
  repo: RepoRef;
  commit: string;
  /**
   * Diff against this commit; when absent, against the commit's parent; when null, against nothing: every
   * file of the commit counts as added (a first training sees the whole tree).
   */
  baseCommit?: string | null;
  /** Path patterns left out of the diff (common/path-filter.ts). */
  exclude?: string[];
}

export interface FetchExperimentInput {
  source: ExperimentSource;
}

/** The experiment code, resolved to an exact git commit; the files stay in the worker's cache. */
export interface ExperimentCode {
  source: ExperimentSource;
  /** The resolved git commit sha: the submission fetches exactly this. */
  sha: string;
  files: number;
  bytes: number;
  /** From the config: its name, the searcher metric and its direction. */
  experimentName: string;
  searcherMetric: string;
  smallerIsBetter: boolean;
}

/** A version in Determined's model registry, as far as the workflows need to know it. */
export interface ModelVersionRef {
  modelName: string;
  /** The registry's id of the model: a model deleted and recreated under the same name has another. */
  modelId?: number | null;
  /** Determined's integer version number. */
  version: number;
  /** The version's name: the input commit it was trained on (the original's convention). */
  name: string;
  checkpointUuid: string;
  experimentId: number;
  /** The input commit the version was trained on, from its metadata; null when unknown (registered by hand). */
  trainedOnCommit: string | null;
  /** The searcher metric of its checkpoint, when known. */
  metric: number | null;
}

export interface LookupModelInput {
  modelName: string;
  pipelineName: string;
  inputRepo: RepoRef;
}

export interface SubmitExperimentInput {
  pipelineName: string;
  inputRepo: RepoRef;
  commit: string;
  baseCommit: string | null;
  /** Path patterns the experiment leaves out (config `data.pachyderm.exclude`). */
  exclude?: string[];
  code: ExperimentCode;
  /** Continue from this version's checkpoint; train from scratch when null. */
  parent: ModelVersionRef | null;
  /** Recorded in the experiment's labels; with `runId`, the key that makes submission idempotent. */
  workflowId: string;
  /**
   * The first run id of the training's execution chain (`workflowInfo().firstExecutionRunId`): the same
   * for every attempt of one run (activity retries, worker crashes, a reset), new for a retry by hand.
   */
  runId: string;
  /**
   * The pipeline's `training.timeout`: how long the experiment's pachd token lives (plus a margin). Absent
   * in inputs of runs started before it existed (they get the pipelines' default, 24h).
   */
  trainingTimeout?: string;
}

/** Which training run's experiments to stop: the same key submitExperiment labels them with. */
export interface StopRunExperimentsInput {
  workflowId: string;
  runId: string;
  commit: string;
}

export interface SubmittedExperiment {
  experimentId: number;
  /** False when a retry found the experiment an earlier attempt had created. */
  created: boolean;
}

/** Determined experiment states without the `STATE_` prefix. */
export type ExperimentState =
  | 'QUEUED'
  | 'PULLING'
  | 'STARTING'
  | 'RUNNING'
  | 'ACTIVE'
  | 'PAUSED'
  | 'STOPPING_COMPLETED'
  | 'STOPPING_CANCELED'
  | 'STOPPING_ERROR'
  | 'STOPPING_KILLED'
  | 'COMPLETED'
  | 'CANCELED'
  | 'ERROR'
  | 'DELETED'
  | 'DELETING'
  | 'DELETE_FAILED'
  | 'UNSPECIFIED';

export interface WaitForExperimentInput {
  experimentId: number;
  /** Poll interval, e.g. `5s`. */
  pollInterval: string;
  /**
   * When set, return as soon as the state differs from this one (or is terminal), so the workflow can
   * show each state change; when absent, return only at a terminal state.
   */
  returnWhenStateChangesFrom?: ExperimentState;
}

export interface ExperimentProgress {
  experimentId: number;
  state: ExperimentState;
  /** 0..1 when Determined reports it. */
  progress: number | null;
}

export interface RegisterModelVersionInput {
  modelName: string;
  pipelineName: string;
  inputRepo: RepoRef;
  experimentId: number;
  commit: string;
  baseCommit: string | null;
  workflowId: string;
}

export interface PublishModelInput {
  output: RepoRef;
  pipelineName: string;
  inputRepo: RepoRef;
  version: ModelVersionRef;
  commit: string;
  baseCommit: string | null;
}

export interface PublishedModel {
  /** The output commit holding checkpoint/** and model-info.yaml. */
  outputCommit: string;
  files: number;
  bytes: number;
  /** False when a retry found the commit an earlier attempt had finished. */
  created: boolean;
}

/** The contents of model-info.yaml: the original's four fields plus what deployment needs. */
export interface ModelInfo {
  name: string;
  pipeline: string;
  repo: string;
  /** The original's `version`: the input commit id the model was trained on. */
  version: string;
  registryVersion: number;
  checkpointUuid: string;
  experimentId: number;
  inputCommit: string;
  baseCommit: string | null;
  metric: number | null;
  searcherMetric: string | null;
  /** The searcher's direction for `metric` (from the experiment config); null when unknown. */
  smallerIsBetter: boolean | null;
}

export interface ReadModelInfoInput {
  repo: RepoRef;
  commit: string;
}

/** What is deployed under a name now, read from the SeldonDeployment's labels and status. */
export interface DeployedModel {
  deploymentName: string;
  namespace: string;
  modelName: string;
  registryVersion: number;
  /** The input commit of the deployed version (model-info.yaml's `version`). */
  version: string;
  metric: number | null;
  /** The output commit whose model-info.yaml was deployed: what a rollback redeploys. */
  outputCommit: string;
  state: 'Available' | 'Creating' | 'Failed' | 'Unknown';
}

export interface DeployModelInput {
  deployment: DeploymentSettings;
  modelInfo: ModelInfo;
  /** Output commit the model-info came from, recorded on the resource. */
  outputCommit: string;
}

export interface DeployResult {
  deploymentName: string;
  namespace: string;
  /** What was deployed before this call, so a failure can roll back to it; null for a first deployment. */
  previous: DeployedModel | null;
  /** False when a retry found the same spec already applied. */
  changed: boolean;
  /**
   * The resource's `metadata.resourceVersion` as this call wrote it (absent when nothing was written). Seldon
   * Core publishes no observedGeneration: a status written after this version is the first about the new spec.
   */
  resourceVersion?: string;
}

export interface WaitDeploymentReadyInput {
  deploymentName: string;
  namespace: string;
  /** e.g. `10m`. */
  timeout: string;
  pollInterval: string;
  /**
   * The `resourceVersion` the deploy being waited for wrote (DeployResult.resourceVersion): until the resource
   * changes from it, its status is the one from before that deploy (the controller has not caught up).
   */
  afterResourceVersion?: string;
}

export interface ReplaceDetectorInput {
  kind: 'drift' | 'outlier';
  deploymentName: string;
  namespace: string;
  settings: DetectorSettings;
  modelInfo: ModelInfo;
}

export interface DetectorOutcome {
  name: string;
  /** Another detector of the deployment was deleted. */
  replaced: boolean;
  /** `kept`: an identical detector already existed, nothing was created. Absent in results of older workers. */
  action?: 'created' | 'replaced' | 'kept';
}

export type { RepoRef, ExperimentSource, PipelineSpec, DeploymentSettings, DetectorSettings };
