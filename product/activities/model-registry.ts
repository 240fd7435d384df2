// Model-registry helpers shared by lookupModel and registerModelVersion.
import type { LookupModelInput, ModelVersionRef } from '../common/types';
import { ErrorType } from '../common/errors';
import type { DeterminedClient } from './determined/client';
import type { Model, ModelVersion } from './determined/types';
import { failureStatus, failureType } from './http/errors';

const PAGE = 100;

/** The model named exactly `name` (GET by name, not the list's substring filter), created when missing. */
export async function ensureModel(determined: DeterminedClient, input: LookupModelInput): Promise<Model> {
  try {
    return (await determined.getModel(input.modelName)).model;
  } catch (err) {
    if (failureType(err) !== ErrorType.NotFound) throw err;
  }
  try {
    const { model } = await determined.postModel({
      name: input.modelName,
      description: '',
      labels: [input.pipelineName, input.inputRepo.repo],
      metadata: { pipeline: input.pipelineName, repository: input.inputRepo.repo },
    });
    return model;
  } catch (err) {
    // 409 AlreadyExists: created meanwhile by a concurrent attempt (the name is unique), so read it. Any other
    // 4xx (e.g. a name the master refuses) is final.
    if (failureStatus(err) === 409) return (await determined.getModel(input.modelName)).model;
    throw err;
  }
}

/** Every version of a model, page by page (a model has one version per training: few). */
export async function* modelVersions(determined: DeterminedClient, modelName: string): AsyncGenerator<ModelVersion> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await determined.getModelVersions(modelName, { sortBy: 'SORT_BY_VERSION', orderBy: 'ORDER_BY_ASC', offset, limit: PAGE });
    const versions = page.modelVersions ?? [];
    yield* versions;
    if (versions.length < PAGE) return;
  }
}

export function toModelVersionRef(modelName: string, v: ModelVersion): ModelVersionRef {
  const meta = (v.metadata ?? {}) as Record<string, unknown>;
  const metaNumber = (key: string): number | null => {
    const value = meta[key];
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
    return Number.isFinite(n) ? n : null;
  };
  const commit = typeof meta.commit === 'string' && meta.commit ? meta.commit : v.name || null;
  return {
    modelName,
    modelId: v.model?.id ?? null,
    version: v.version,
    name: v.name ?? '',
    checkpointUuid: v.checkpoint.uuid,
    experimentId: v.checkpoint.training?.experimentId ?? metaNumber('experiment_id') ?? 0,
    trainedOnCommit: commit,
    metric: metaNumber('metric') ?? v.checkpoint.training?.searcherMetric ?? null,
  };
}
