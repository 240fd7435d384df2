// The emulated master's database: one JSON document in the state directory, saved atomically after
// every change, plus model definitions and trial logs in their own files (they can be large).
import fs from 'node:fs';
import path from 'node:path';
import { JsonFile } from '../common/state';

export type ExperimentState =
  | 'STATE_ACTIVE'
  | 'STATE_PAUSED'
  | 'STATE_STOPPING_COMPLETED'
  | 'STATE_STOPPING_CANCELED'
  | 'STATE_STOPPING_ERROR'
  | 'STATE_STOPPING_KILLED'
  | 'STATE_COMPLETED'
  | 'STATE_CANCELED'
  | 'STATE_ERROR'
  | 'STATE_DELETED'
  | 'STATE_QUEUED'
  | 'STATE_PULLING'
  | 'STATE_STARTING'
  | 'STATE_RUNNING';

export const TERMINAL_STATES: readonly ExperimentState[] = ['STATE_COMPLETED', 'STATE_CANCELED', 'STATE_ERROR', 'STATE_DELETED'];

export type CheckpointState = 'STATE_ACTIVE' | 'STATE_COMPLETED' | 'STATE_ERROR' | 'STATE_DELETED' | 'STATE_PARTIALLY_DELETED';

export type JsonObject = Record<string, unknown>;

export interface UserRecord {
  id: number;
  username: string;
  password: string;
  admin: boolean;
  active: boolean;
  /** A user that exists only for SSO/SCIM: password login is refused. Absent in older state files. */
  remote?: boolean;
  displayName: string;
}

export interface SessionRecord {
  token: string;
  userId: number;
  createdAt: string;
}

export interface MetricsReport {
  steps: number;
  metrics: Record<string, number>;
  time: string;
}

export interface ExperimentRecord {
  id: number;
  name: string;
  description: string;
  notes: string;
  labels: string[];
  state: ExperimentState;
  archived: boolean;
  projectId: number;
  userId: number;
  username: string;
  /** The YAML exactly as submitted. */
  originalConfig: string;
  /** The config with defaults filled in. */
  config: JsonObject;
  parentId: number | null;
  sourceCheckpointUuid: string | null;
  startTime: string;
  endTime: string | null;
  trialIds: number[];
  jobId: string;
  /** When the current state was entered (the simulated run counts its delays from here). */
  stateSince: string;
  /** Which experiment's stored model definition this one uses (itself, or its parent's). */
  modelDefinitionOf: number | null;
  modelDefinitionSize: number;
  /** The outcome chosen when the run finished its RUNNING phase (HANG keeps it RUNNING). */
  outcome: Outcome | null;
  /** Padding of its simulated checkpoint (the matching rule's checkpointBytes). */
  checkpointPaddingBytes?: number;
  runner: RunnerKind;
}

export interface TrialRecord {
  id: number;
  experimentId: number;
  state: string;
  startTime: string;
  endTime: string | null;
  hparams: JsonObject;
  restarts: number;
  totalBatchesProcessed: number;
  trainingMetrics: MetricsReport[];
  validationMetrics: MetricsReport[];
  checkpointUuids: string[];
  taskId: string;
  warmStartCheckpointUuid: string;
}

export interface CheckpointRecord {
  uuid: string;
  taskId: string;
  allocationId: string;
  reportTime: string;
  /** file path (relative to the checkpoint) → size in bytes. */
  resources: Record<string, number>;
  metadata: JsonObject;
  state: CheckpointState;
  trialId: number;
  experimentId: number;
  trainingMetrics: Record<string, number>;
  validationMetrics: Record<string, number>;
  searcherMetric: number | null;
  /** Directory of the files, relative to the state directory. */
  dir: string;
  /** Storage type of the experiment's checkpoint_storage (azure cannot be downloaded via the master). */
  storageType: string;
}

export interface ModelRecord {
  id: number;
  name: string;
  description: string;
  metadata: JsonObject;
  labels: string[];
  notes: string;
  creationTime: string;
  lastUpdatedTime: string;
  userId: number;
  username: string;
  archived: boolean;
  workspaceId: number;
}

export interface ModelVersionRecord {
  id: number;
  modelId: number;
  version: number;
  checkpointUuid: string;
  name: string;
  comment: string;
  metadata: JsonObject;
  labels: string[];
  notes: string;
  creationTime: string;
  lastUpdatedTime: string;
  userId: number;
  username: string;
}

export type Outcome = 'COMPLETED' | 'ERROR' | 'HANG' | 'NO_CHECKPOINT' | 'NO_SEARCHER_METRIC';
export const OUTCOMES: readonly Outcome[] = ['COMPLETED', 'ERROR', 'HANG', 'NO_CHECKPOINT', 'NO_SEARCHER_METRIC'];
export type RunnerKind = 'simulated' | 'process';

/** Chooses the outcome of simulated runs whose experiment name or one of whose labels matches. */
export interface OutcomeRule {
  /** Regular expression matched against the experiment name. */
  name?: string;
  /** Regular expression matched against each label. */
  label?: string;
  outcome: Outcome;
  /**
   * COMPLETED only: the checkpoint also holds `padding.bin` of this many bytes (a sparse file of
   * zeros), for benchmarks of large checkpoints going through the whole pipeline.
   */
  checkpointBytes?: number;
  /** Apply to at most this many experiments, then stop matching. */
  times?: number;
  /** How many experiments the rule was applied to. */
  used?: number;
}

export interface MasterState {
  nextId: { user: number; experiment: number; trial: number; model: number; modelVersion: number };
  users: UserRecord[];
  sessions: SessionRecord[];
  experiments: ExperimentRecord[];
  trials: TrialRecord[];
  checkpoints: CheckpointRecord[];
  models: ModelRecord[];
  modelVersions: ModelVersionRecord[];
  outcomes: OutcomeRule[];
}

/** A model definition file as the API carries it (`determined.util.v1.File`). */
import type { ModelDefinitionFile } from '@continuous-training/api-types/determined';
export type { ModelDefinitionFile };

export class MasterStore {
  readonly state: MasterState;
  private readonly file: JsonFile<MasterState>;

  constructor(readonly stateDir: string) {
    fs.mkdirSync(stateDir, { recursive: true });
    this.file = new JsonFile<MasterState>(path.join(stateDir, 'master.json'), () => ({
      nextId: { user: 1, experiment: 1, trial: 1, model: 1, modelVersion: 1 },
      users: [],
      sessions: [],
      experiments: [],
      trials: [],
      checkpoints: [],
      models: [],
      modelVersions: [],
      outcomes: [],
    }));
    this.state = this.file.load();
  }

  save(): void {
    this.file.save(this.state);
  }

  nextId(kind: keyof MasterState['nextId']): number {
    return this.state.nextId[kind]++;
  }

  experiment(id: number): ExperimentRecord | undefined {
    return this.state.experiments.find((e) => e.id === id);
  }

  trial(id: number): TrialRecord | undefined {
    return this.state.trials.find((t) => t.id === id);
  }

  checkpoint(uuid: string): CheckpointRecord | undefined {
    return this.state.checkpoints.find((c) => c.uuid === uuid);
  }

  model(name: string): ModelRecord | undefined {
    return this.state.models.find((m) => m.name === name);
  }

  user(id: number): UserRecord | undefined {
    return this.state.users.find((u) => u.id === id);
  }

  modelDefinitionPath(experimentId: number): string {
    return path.join(this.stateDir, 'model-definitions', `experiment-${experimentId}.json`);
  }

  saveModelDefinition(experimentId: number, files: ModelDefinitionFile[]): void {
    const file = new JsonFile<ModelDefinitionFile[]>(this.modelDefinitionPath(experimentId), () => []);
    file.save(files);
  }

  loadModelDefinition(experimentId: number): ModelDefinitionFile[] {
    return new JsonFile<ModelDefinitionFile[]>(this.modelDefinitionPath(experimentId), () => []).load();
  }

  trialDir(trialId: number): string {
    return path.join(this.stateDir, 'runs', `trial-${trialId}`);
  }

  trialLogPath(trialId: number): string {
    return path.join(this.trialDir(trialId), 'logs.ndjson');
  }

  /** Appends one trial log line (kept as NDJSON so a follower can tail it). */
  appendTrialLog(trialId: number, log: string, level = 'LOG_LEVEL_INFO', stdtype = 'stdout'): void {
    fs.mkdirSync(this.trialDir(trialId), { recursive: true });
    const line = { timestamp: new Date().toISOString(), level, log: log.endsWith('\n') ? log : `${log}\n`, stdtype };
    fs.appendFileSync(this.trialLogPath(trialId), JSON.stringify(line) + '\n');
  }
}
