import type { ModelDefinitionFile } from '@continuous-training/api-types/determined';
// The Determined master's messages this project uses (grpc-gateway v1: camelCase, enum names with their
// `STATE_` prefix, int64 as strings).

export interface Experiment {
  id: number;
  name?: string;
  state: string;
  labels?: string[];
  archived?: boolean;
  progress?: number | null;
  /** The parent experiment of a continued one (CreateExperimentRequest.parentId). */
  forkedFrom?: number | null;
  projectId?: number;
  searcherMetric?: string;
  bestTrialSearcherMetric?: number | null;
  startTime?: string;
  endTime?: string | null;
}

export interface GetExperimentResponse {
  experiment: Experiment;
  config?: Record<string, unknown>;
}

export interface GetExperimentsResponse {
  experiments: Experiment[];
  pagination?: unknown;
}

/** A model definition file as CreateExperimentRequest takes it (`type` is the tar typeflag: 48 file, 53 dir). */
export type { ModelDefinitionFile } from '@continuous-training/api-types/determined';

export interface CreateExperimentRequest {
  config: string;
  modelDefinition?: ModelDefinitionFile[];
  parentId?: number;
  activate?: boolean;
  projectId?: number;
  validateOnly?: boolean;
}

export interface CreateExperimentResponse {
  experiment: Experiment;
  config?: Record<string, unknown>;
  warnings?: unknown[];
}

export interface Checkpoint {
  uuid: string;
  state: string;
  reportTime?: string;
  resources?: Record<string, string>;
  metadata?: Record<string, unknown>;
  training?: {
    trialId?: number;
    experimentId?: number;
    experimentConfig?: Record<string, unknown>;
    validationMetrics?: { avgMetrics?: Record<string, number> } | null;
    searcherMetric?: number | null;
  };
}

export interface GetExperimentCheckpointsResponse {
  checkpoints: Checkpoint[];
  pagination?: unknown;
}

export interface Model {
  id?: number;
  name: string;
  description?: string;
  metadata?: Record<string, unknown>;
  labels?: string[];
  numVersions?: number;
}

export interface ModelVersion {
  id?: number;
  version: number;
  name?: string;
  model?: Model;
  checkpoint: Checkpoint;
  metadata?: Record<string, unknown> | null;
  labels?: string[];
  notes?: string;
  comment?: string;
  creationTime?: string;
}

export interface PostModelRequest {
  name: string;
  description?: string;
  metadata?: Record<string, unknown>;
  labels?: string[];
  notes?: string;
}

export interface PostModelVersionRequest {
  modelName: string;
  checkpointUuid: string;
  name?: string;
  comment?: string;
  metadata?: Record<string, unknown>;
  labels?: string[];
  notes?: string;
}
