// submitExperiment: creates the Determined experiment for one input commit, exactly once per training
// run: a deterministic label marks it, and a retry finds it instead of creating another.
import crypto from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import yaml from 'js-yaml';
import type { SubmitExperimentInput, SubmittedExperiment } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { buildModelDefinition } from './determined/model-definition';
import type { CreateExperimentRequest } from './determined/types';
import { readExperimentConfig, type ExperimentConfig } from './experiment-config';
import { experimentPachdToken } from './experiment-token';
import { failure, failureType } from './http/errors';
import { heartbeatDuring } from './heartbeat';

/**
 * The label that identifies the experiment of one training run: (workflow id, first run id, commit).
 * Scoped to the run, not to the commit alone, so a training retried by hand (a new run of the same
 * workflow id) gets a new experiment instead of finding the failed one again.
 */
export function runLabel(run: { workflowId: string; runId: string; commit: string }): string {
  return `ct-run-${crypto.createHash('sha256').update(`${run.workflowId}\n${run.runId}\n${run.commit}`).digest('hex').slice(0, 16)}`;
}

export async function submitExperiment(clients: Clients, input: SubmitExperimentInput): Promise<SubmittedExperiment> {
  const label = runLabel(input);
  const existing = await findByLabel(clients, label);
  if (existing !== null) {
    Context.current().log.info(`experiment ${existing} found by its run label: not created again`, { pipeline: input.pipelineName, experimentId: existing, label });
    return { experimentId: existing, created: false };
  }

  const source = input.code.source;
  const codeDir = await heartbeatDuring(
    clients.code.checkout(source, input.code.sha, Context.current().cancellationSignal),
    () => ({ phase: 'git-fetch', sha: input.code.sha }),
  );
  const experimentConfig = await readExperimentConfig(codeDir, source);
  // Minted only here, on the way to creating the experiment: a retry that finds it mints nothing.
  const pachdToken = await experimentPachdToken(clients, input);
  const config = enrichConfig(clients, experimentConfig, input, label, pachdToken);

  // With parentId the master ignores any uploaded code and reuses the parent's (the original's
  // continuation silently trained old code). So parentId is only used when the parent ran this very
  // code; otherwise the fresh code is uploaded and source_checkpoint_uuid alone warm-starts from the
  // parent's checkpoint, the lineage staying in the labels.
  const parentId = input.parent && (await parentRanSameCode(clients, input.parent.experimentId, codeLabel(input.code.sha)))
    ? input.parent.experimentId
    : undefined;
  const request: CreateExperimentRequest = {
    config: yaml.dump(config, { lineWidth: -1, noRefs: true }),
    activate: true,
    ...(parentId !== undefined ? { parentId } : { modelDefinition: await buildModelDefinition(codeDir) }),
  };

  try {
    const { experiment } = await clients.determined.createExperiment(request);
    Context.current().log.info(
      `experiment ${experiment.id} created ${input.parent ? `continuing from checkpoint ${input.parent.checkpointUuid}` : 'from scratch'}`,
      { pipeline: input.pipelineName, experimentId: experiment.id, label, parentExperimentId: parentId ?? null, sourceCheckpoint: input.parent?.checkpointUuid ?? null },
    );
    return { experimentId: experiment.id, created: true };
  } catch (caught) {
    const err = withoutToken(caught, pachdToken);
    if (failureType(err) === ErrorType.BadRequest) {
      throw failure(ErrorType.InvalidConfig, `Determined rejected the experiment config ${source.configFile}: ${(err as Error).message}`, true);
    }
    // A lost answer may hide a created experiment: the retry finds it by its label.
    throw err;
  }
}

/**
 * The master may quote the config back in an error: a failure (message and stack, both recorded in the
 * workflow history) never carries the experiment's token.
 */
function withoutToken(err: unknown, token: string | undefined): unknown {
  if (!token || !(err instanceof Error) || !`${err.message}\n${err.stack}`.includes(token)) return err;
  const message = err.message.split(token).join('<pachd token>');
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({ type: err.type ?? undefined, message, nonRetryable: err.nonRetryable ?? undefined, details: err.details ?? undefined });
  }
  return new Error(message);
}

/** Labels the experiment with the code it runs, so a continuation can tell whether the code changed. */
function codeLabel(sha: string): string {
  return `ct-code-${sha.slice(0, 12)}`;
}

async function parentRanSameCode(clients: Clients, parentExperimentId: number, label: string): Promise<boolean> {
  try {
    const { experiment } = await clients.determined.getExperiment(parentExperimentId);
    return experiment.labels?.includes(label) ?? false;
  } catch (err) {
    if (failureType(err) === ErrorType.NotFound) return false; // deleted parent: start from its checkpoint only
    throw err;
  }
}

async function findByLabel(clients: Clients, label: string): Promise<number | null> {
  const ids = (await experimentsLabelled(clients, label)).map((e) => e.id);
  return ids.length > 0 ? Math.min(...ids) : null;
}

/** The experiments that carry `label` (the master filters by label; checked here too). */
export async function experimentsLabelled(clients: Clients, label: string): Promise<{ id: number; state?: string }[]> {
  const { experiments } = await clients.determined.getExperiments({ labels: [label], limit: 100, sortBy: 'SORT_BY_ID', orderBy: 'ORDER_BY_ASC' });
  return (experiments ?? []).filter((e) => e.labels?.includes(label));
}

/**
 * Adds where the data is (`data.pachyderm`) and where the run comes from (`labels`). The commit gets
 * its own key: the original put it in `branch`. The token is experimentPachdToken's (none: no `token` key).
 */
function enrichConfig(clients: Clients, config: ExperimentConfig, input: SubmitExperimentInput, label: string, pachdToken: string | undefined): ExperimentConfig {
  const pach = clients.config.pachyderm;
  const data = (config.data && typeof config.data === 'object' ? config.data : {}) as Record<string, unknown>;
  // A token written in the experiment's own config is dropped: the only token is the one chosen here.
  const { token: _ignored, ...existingPach } = (data.pachyderm && typeof data.pachyderm === 'object' ? data.pachyderm : {}) as Record<string, unknown>;
  const labels = Array.isArray(config.labels) ? (config.labels as unknown[]).filter((l): l is string => typeof l === 'string') : [];
  const origin = [input.inputRepo.repo, input.commit, input.pipelineName, `workflow:${input.workflowId}`, label, codeLabel(input.code.sha)];
  if (input.parent) origin.push(`ct-continues-experiment-${input.parent.experimentId}`);
  const searcher = { ...((config.searcher ?? {}) as Record<string, unknown>) };
  if (input.parent) searcher.source_checkpoint_uuid = input.parent.checkpointUuid;
  return {
    ...config,
    searcher,
    data: {
      ...data,
      pachyderm: {
        ...existingPach,
        host: pach.experimentHost,
        port: pach.experimentPort,
        project: input.inputRepo.project,
        repo: input.inputRepo.repo,
        branch: input.inputRepo.branch,
        commit: input.commit,
        base_commit: input.baseCommit,
        // No base: a first training, which reads every file of the commit, not its diff against the parent.
        all_files: input.baseCommit === null,
        // Paths the operator left out of this training (`ct retry --exclude`); pachyderm_data.py skips them.
        ...(input.exclude?.length ? { exclude: input.exclude } : {}),
        ...(pachdToken ? { token: pachdToken } : {}),
      },
    },
    labels: [...new Set([...labels, ...origin])],
  };
}
