// Converts stored records to the master's JSON: camelCase, every field emitted (EmitDefaults),
// enums as names, int64 as strings. Field lists follow the protos; contract.ts checks them in tests.
import type {
  CheckpointRecord,
  ExperimentRecord,
  MasterStore,
  MetricsReport,
  ModelRecord,
  ModelVersionRecord,
  TrialRecord,
  UserRecord,
} from './store';
import { TERMINAL_STATES } from './store';

export function userJson(u: UserRecord): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    admin: u.admin,
    active: u.active,
    agentUserGroup: null,
    displayName: u.displayName,
    modifiedAt: '2024-01-01T00:00:00Z',
    remote: !!u.remote,
  };
}

export function searcherOf(config: Record<string, unknown>): { name: string; metric: string; smallerIsBetter: boolean } {
  const searcher = (config.searcher ?? {}) as Record<string, unknown>;
  return {
    name: typeof searcher.name === 'string' ? searcher.name : 'single',
    metric: typeof searcher.metric === 'string' ? searcher.metric : 'validation_loss',
    // The schema's default is true.
    smallerIsBetter: searcher.smaller_is_better !== false,
  };
}

/** The best of the values by the experiment's searcher direction. */
export function better(a: number, b: number, smallerIsBetter: boolean): boolean {
  return smallerIsBetter ? a < b : a > b;
}

export function checkpointJson(store: MasterStore, c: CheckpointRecord): Record<string, unknown> {
  const exp = store.experiment(c.experimentId);
  const trial = store.trial(c.trialId);
  const training: Record<string, unknown> = {
    trialId: c.trialId,
    experimentId: c.experimentId,
    experimentConfig: exp?.config ?? null,
    hparams: trial?.hparams ?? {},
    trainingMetrics: { avgMetrics: c.trainingMetrics, batchMetrics: [] },
    validationMetrics: { avgMetrics: c.validationMetrics, batchMetrics: [] },
  };
  if (c.searcherMetric !== null) training.searcherMetric = c.searcherMetric;
  return {
    taskId: c.taskId,
    allocationId: c.allocationId,
    uuid: c.uuid,
    reportTime: c.reportTime,
    resources: Object.fromEntries(Object.entries(c.resources).map(([k, v]) => [k, String(v)])),
    metadata: c.metadata,
    state: c.state,
    training,
    storageId: 1,
  };
}

export function experimentJson(store: MasterStore, e: ExperimentRecord): Record<string, unknown> {
  const checkpoints = store.state.checkpoints.filter((c) => c.experimentId === e.id && c.state === 'STATE_COMPLETED');
  const searcher = searcherOf(e.config);
  let best: CheckpointRecord | undefined;
  for (const c of checkpoints) {
    if (c.searcherMetric === null) continue;
    if (!best || better(c.searcherMetric, best.searcherMetric as number, searcher.smallerIsBetter)) best = c;
  }
  const size = checkpoints.reduce((sum, c) => sum + Object.values(c.resources).reduce((a, b) => a + b, 0), 0);
  const resources = (e.config.resources ?? {}) as Record<string, unknown>;
  const json: Record<string, unknown> = {
    id: e.id,
    description: e.description,
    labels: e.labels,
    startTime: e.startTime,
    endTime: e.endTime,
    state: e.state,
    archived: e.archived,
    numTrials: e.trialIds.length,
    trialIds: e.trialIds,
    displayName: '',
    userId: e.userId,
    username: e.username,
    resourcePool: (resources.resource_pool as string) || 'default',
    searcherType: searcher.name,
    searcherMetric: searcher.metric,
    hyperparameters: e.config.hyperparameters ?? {},
    name: e.name,
    notes: e.notes,
    jobId: e.jobId,
    forkedFrom: e.parentId,
    progress: e.state === 'STATE_COMPLETED' ? 1 : e.state === 'STATE_RUNNING' ? 0.5 : 0,
    projectId: e.projectId,
    projectName: 'Uncategorized',
    workspaceId: 1,
    workspaceName: 'Uncategorized',
    parentArchived: false,
    config: e.config,
    originalConfig: e.originalConfig,
    projectOwnerId: 1,
    checkpointSize: String(size),
    checkpointCount: checkpoints.length,
    unmanaged: false,
    modelDefinitionSize: e.modelDefinitionSize,
  };
  if (best) {
    json.bestTrialSearcherMetric = best.searcherMetric;
    json.bestTrialId = best.trialId;
  }
  if (e.endTime) json.duration = Math.max(0, Date.parse(e.endTime) - Date.parse(e.startTime));
  return json;
}

/** `jobSummary` of GetExperimentResponse: null once the experiment is no longer a job. */
export function jobSummaryJson(e: ExperimentRecord): Record<string, unknown> | null {
  if (TERMINAL_STATES.includes(e.state)) return null;
  const scheduled = e.state === 'STATE_RUNNING' || e.state === 'STATE_STARTING' || e.state === 'STATE_PULLING';
  return { state: scheduled ? 'STATE_SCHEDULED' : 'STATE_QUEUED', jobsAhead: 0 };
}

/** trialv1.MetricsWorkload: one training or validation report. */
export function metricsWorkloadJson(r: MetricsReport): Record<string, unknown> {
  return { endTime: r.time, metrics: { avgMetrics: r.metrics, batchMetrics: [] }, numInputs: 0, totalBatches: r.steps };
}

/** trialv1.CheckpointWorkload: a checkpoint as a trial's workloads and its bestCheckpoint show it. */
export function checkpointWorkloadJson(c: CheckpointRecord): Record<string, unknown> {
  return {
    uuid: c.uuid,
    endTime: c.reportTime,
    state: c.state,
    resources: Object.fromEntries(Object.entries(c.resources).map(([k, v]) => [k, String(v)])),
    totalBatches: Number(c.metadata.steps_completed ?? 0),
    metadata: c.metadata,
  };
}

export function trialJson(store: MasterStore, t: TrialRecord): Record<string, unknown> {
  const exp = store.experiment(t.experimentId);
  const searcher = searcherOf(exp?.config ?? {});
  const checkpoints = t.checkpointUuids.map((u) => store.checkpoint(u)).filter((c): c is CheckpointRecord => !!c);
  let bestValidation: MetricsReport | undefined;
  for (const r of t.validationMetrics) {
    const v = r.metrics[searcher.metric];
    if (typeof v !== 'number') continue;
    if (!bestValidation || better(v, bestValidation.metrics[searcher.metric], searcher.smallerIsBetter)) bestValidation = r;
  }
  const bestCheckpoint = checkpoints.find((c) => c.state === 'STATE_COMPLETED');
  // Like the master (trials.latest_validation_id): the latest validation that holds the searcher metric.
  // A validation without it is kept in the trial's metrics, and its checkpoint's searcherMetric is null.
  const latest = [...t.validationMetrics].reverse().find((r) => typeof r.metrics[searcher.metric] === 'number');
  const totalSize = checkpoints.reduce((sum, c) => sum + Object.values(c.resources).reduce((a, b) => a + b, 0), 0);
  return {
    id: t.id,
    experimentId: t.experimentId,
    startTime: t.startTime,
    endTime: t.endTime,
    state: t.state,
    restarts: t.restarts,
    hparams: t.hparams,
    totalBatchesProcessed: t.totalBatchesProcessed,
    bestValidation: bestValidation ? metricsWorkloadJson(bestValidation) : null,
    latestValidation: latest ? metricsWorkloadJson(latest) : null,
    bestCheckpoint: bestCheckpoint ? checkpointWorkloadJson(bestCheckpoint) : null,
    runnerState: '',
    wallClockTime: t.endTime ? (Date.parse(t.endTime) - Date.parse(t.startTime)) / 1000 : 0,
    warmStartCheckpointUuid: t.warmStartCheckpointUuid,
    taskId: t.taskId,
    totalCheckpointSize: String(totalSize),
    checkpointCount: checkpoints.length,
    summaryMetrics: null,
    taskIds: [t.taskId],
    searcherMetricValue: latest && typeof latest.metrics[searcher.metric] === 'number' ? latest.metrics[searcher.metric] : 0,
  };
}

export function modelJson(store: MasterStore, m: ModelRecord): Record<string, unknown> {
  return {
    name: m.name,
    description: m.description,
    metadata: m.metadata,
    creationTime: m.creationTime,
    lastUpdatedTime: m.lastUpdatedTime,
    id: m.id,
    numVersions: store.state.modelVersions.filter((v) => v.modelId === m.id).length,
    labels: m.labels,
    username: m.username,
    workspaceId: m.workspaceId,
    userId: m.userId,
    archived: m.archived,
    notes: m.notes,
  };
}

export function modelVersionJson(store: MasterStore, v: ModelVersionRecord): Record<string, unknown> {
  const model = store.state.models.find((m) => m.id === v.modelId);
  const checkpoint = store.checkpoint(v.checkpointUuid);
  return {
    model: model ? modelJson(store, model) : null,
    checkpoint: checkpoint ? checkpointJson(store, checkpoint) : null,
    version: v.version,
    creationTime: v.creationTime,
    id: v.id,
    name: v.name,
    metadata: v.metadata,
    lastUpdatedTime: v.lastUpdatedTime,
    comment: v.comment,
    username: v.username,
    userId: v.userId,
    labels: v.labels,
    notes: v.notes,
  };
}
