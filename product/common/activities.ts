// The contract between the workflows and the activities: `activities/index.ts` implements it
// (`createActivities(config): Activities`), the workflows proxy it by type only.
import type {
  DiffCommitInput,
  DiffSummary,
  FetchExperimentInput,
  ExperimentCode,
  LookupModelInput,
  ModelVersionRef,
  SubmitExperimentInput,
  SubmittedExperiment,
  WaitForExperimentInput,
  ExperimentProgress,
  RegisterModelVersionInput,
  PublishModelInput,
  PublishedModel,
  ReadModelInfoInput,
  ModelInfo,
  DeployedModel,
  DeployModelInput,
  DetectorOutcome,
  DeployResult,
  WaitDeploymentReadyInput,
  ReplaceDetectorInput,
  StopRunExperimentsInput,
} from './types';

export interface Activities {
  diffCommit(input: DiffCommitInput): Promise<DiffSummary>;
  fetchExperiment(input: FetchExperimentInput): Promise<ExperimentCode>;
  /** Ensures the registry model exists (creates it when missing: a write) and returns its latest version. */
  lookupModel(input: LookupModelInput): Promise<ModelVersionRef | null>;
  submitExperiment(input: SubmitExperimentInput): Promise<SubmittedExperiment>;
  waitForExperiment(input: WaitForExperimentInput): Promise<ExperimentProgress>;
  stopRunExperiments(input: StopRunExperimentsInput): Promise<{ killed: number[] }>;
  registerModelVersion(input: RegisterModelVersionInput): Promise<ModelVersionRef>;
  publishModel(input: PublishModelInput): Promise<PublishedModel>;
  readModelInfo(input: ReadModelInfoInput): Promise<ModelInfo>;
  getDeployedModel(input: { deploymentName: string; namespace: string }): Promise<DeployedModel | null>;
  deployModel(input: DeployModelInput): Promise<DeployResult>;
  waitForDeploymentReady(input: WaitDeploymentReadyInput): Promise<{ state: 'Available' }>;
  replaceDetector(input: ReplaceDetectorInput): Promise<DetectorOutcome>;
}
