// The non-secret description of one continuous-training pipeline. It travels in workflow inputs,
// so it must stay small and must never hold a token or password: those live in the worker's configuration.

export interface RepoRef {
  /** Pachyderm project; `default` on most clusters. */
  project: string;
  repo: string;
  branch: string;
}

export interface ExperimentSource {
  /** Any git URL: https://github.com/... in production, a local path or file:// URL for the demo. */
  gitUrl: string;
  /** Branch, tag or commit sha. */
  ref: string;
  /** Sub-directory of the repository holding the experiment (`.` for the root). */
  path: string;
  /** Experiment config file inside `path`, e.g. `const.yaml`. */
  configFile: string;
}

export interface DetectorSettings {
  /** Where the pre-built alibi-detect detector lives, e.g. `gs://bucket/seldon/drift_detector`. */
  storageUri: string;
  batchSize: number;
  replyUrl: string;
  protocol: string;
  httpPort: string;
  userPermission: number;
}

export interface DeploymentSettings {
  /** SeldonDeployment name; one deployment at a time per name. */
  name: string;
  namespace: string;
  servingImage: string;
  replicas: number;
  /**
   * Kubernetes secret holding the serving image's registry credentials (DET_MASTER, DET_USER,
   * DET_PASSWORD), referenced from the resource: the password never appears in it.
   */
  credentialsSecret: string;
  /** `replace` updates in place (no downtime); `delete-first` is the original's behaviour. */
  strategy: 'replace' | 'delete-first';
  /** How long to wait for `Available` before rolling back, e.g. `10m`. */
  readyTimeout: string;
  /** When true, deploy only a version whose searcher metric beats the deployed one. Off by default. */
  promotionGate: boolean;
  drift: DetectorSettings | null;
  outlier: DetectorSettings | null;
}

export interface TrainingSettings {
  /** `coalesce` (default): commits that arrive during a training are trained together next; `per-commit`: one training each. */
  mode: 'coalesce' | 'per-commit';
  /** How often the long poll asks Determined for the experiment's state, e.g. `5s`. */
  pollInterval: string;
  /** Give up on an experiment after this long, e.g. `24h`. */
  timeout: string;
}

export interface PipelineSpec {
  /** The pipeline's name, recorded in labels, model metadata and model-info.yaml (the original's `pipeline`). */
  name: string;
  input: RepoRef;
  experiment: ExperimentSource;
  /** Model name in Determined's registry (exact match). */
  modelName: string;
  /** Where the trained checkpoint and model-info.yaml are published; its commits cascade into deployment. */
  output: RepoRef;
  deployment: DeploymentSettings;
  training: TrainingSettings;
}
