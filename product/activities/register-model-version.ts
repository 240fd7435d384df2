// registerModelVersion: registers the experiment's best checkpoint as a new version named after the
// input commit, unless a version for this commit and checkpoint exists already (a retried attempt).
import { Context } from '@temporalio/activity';
import type { ModelVersionRef, RegisterModelVersionInput } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import type { Checkpoint } from './determined/types';
import { failure } from './http/errors';
import { ensureModel, modelVersions, toModelVersionRef } from './model-registry';
import { searcherOf } from './experiment-config';

const PAGE = 100;

export async function registerModelVersion(clients: Clients, input: RegisterModelVersionInput): Promise<ModelVersionRef> {
  const { determined } = clients;
  const { experiment, config } = await determined.getExperiment(input.experimentId);
  const { metric: searcherMetric, smallerIsBetter } = searcherOf(config ?? {}, `of experiment ${input.experimentId}`);
  const best = await bestCheckpoint(clients, input.experimentId, searcherMetric, smallerIsBetter);
  if (!best) {
    throw failure(
      ErrorType.NoCheckpoint,
      `experiment ${input.experimentId} (state ${experiment.state}) has no completed checkpoint (probably there was no data)`,
      true,
    );
  }
  if (best.metric === null) {
    // Determined keeps such a validation (its searcher metric is null): a version without the metric
    // would pass the promotion gate unjudged, so it is not registered.
    const reported = Object.keys(best.checkpoint.training?.validationMetrics?.avgMetrics ?? {}).sort();
    throw failure(
      ErrorType.MissingSearcherMetric,
      `experiment ${input.experimentId} never reported its searcher metric ${JSON.stringify(searcherMetric)}` +
        ` (validation metrics reported: ${reported.length ? reported.join(', ') : 'none'}): nothing registered`,
      true,
    );
  }

  const chosen = { pipeline: input.pipelineName, experimentId: input.experimentId, checkpointUuid: best.checkpoint.uuid, searcherMetric, metric: best.metric };
  // Normally lookupModel created it; it may have been deleted since (the original created it before training).
  await ensureModel(determined, { modelName: input.modelName, pipelineName: input.pipelineName, inputRepo: input.inputRepo });
  for await (const v of modelVersions(determined, input.modelName)) {
    if (v.metadata?.commit === input.commit && v.checkpoint?.uuid === best.checkpoint.uuid) {
      Context.current().log.info(`checkpoint ${best.checkpoint.uuid} is registered already as version ${v.version}: kept`, { ...chosen, version: v.version });
      return toModelVersionRef(input.modelName, v);
    }
  }

  const { modelVersion } = await determined.postModelVersion({
    modelName: input.modelName,
    checkpointUuid: best.checkpoint.uuid,
    name: input.commit,
    notes: `Job_id/commit_id = ${input.commit}`,
    labels: [input.pipelineName, input.inputRepo.repo],
    metadata: {
      commit: input.commit,
      base_commit: input.baseCommit ?? '',
      experiment_id: input.experimentId,
      metric: best.metric,
      searcher_metric: searcherMetric,
      workflow_id: input.workflowId,
      pipeline: input.pipelineName,
    },
  });
  Context.current().log.info(
    `checkpoint ${best.checkpoint.uuid} chosen (${searcherMetric} ${best.metric}), registered as ${input.modelName} version ${modelVersion.version}`,
    { ...chosen, version: modelVersion.version },
  );
  return toModelVersionRef(input.modelName, modelVersion);
}

/**
 * The best COMPLETED checkpoint by the searcher metric (ties: the earlier trial, then the earlier report);
 * checkpoints without a metric only count when no checkpoint has one (and are then refused by the caller).
 */
async function bestCheckpoint(
  clients: Clients,
  experimentId: number,
  metric: string,
  smallerIsBetter: boolean,
): Promise<{ checkpoint: Checkpoint; metric: number | null } | null> {
  let best: { checkpoint: Checkpoint; metric: number | null } | null = null;
  const better = (a: { checkpoint: Checkpoint; metric: number | null }, b: typeof a): boolean => {
    if (a.metric !== null && b.metric === null) return true;
    if (a.metric === null && b.metric !== null) return false;
    if (a.metric !== null && b.metric !== null && a.metric !== b.metric) return smallerIsBetter ? a.metric < b.metric : a.metric > b.metric;
    const trialA = a.checkpoint.training?.trialId ?? 0;
    const trialB = b.checkpoint.training?.trialId ?? 0;
    if (trialA !== trialB) return trialA < trialB;
    return (a.checkpoint.reportTime ?? '') < (b.checkpoint.reportTime ?? '');
  };
  for (let offset = 0; ; offset += PAGE) {
    const { checkpoints } = await clients.determined.getExperimentCheckpoints(experimentId, {
      sortByAttr: 'SORT_BY_SEARCHER_METRIC',
      states: ['STATE_COMPLETED'],
      offset,
      limit: PAGE,
    });
    for (const checkpoint of checkpoints ?? []) {
      if (checkpoint.state !== 'STATE_COMPLETED' && checkpoint.state !== 'COMPLETED') continue;
      const candidate = { checkpoint, metric: metricOf(checkpoint, metric) };
      if (!best || better(candidate, best)) best = candidate;
    }
    if ((checkpoints ?? []).length < PAGE) return best;
  }
}

function metricOf(checkpoint: Checkpoint, metric: string): number | null {
  const value = checkpoint.training?.searcherMetric ?? checkpoint.training?.validationMetrics?.avgMetrics?.[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
