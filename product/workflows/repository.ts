// One long-lived workflow per watched input repository and branch. New commits arrive as Updates (from
// `ct trigger`, the watcher or Pachyderm's own trigger, via update-with-start) and get an answer; the
// older signal still works for callers that send it. One training runs at a time; commits that arrive
// meanwhile are coalesced into the next training by default.
//
// Control: a training that is cancelled, times out or fails is recorded and the next commit goes on;
// cancelling this workflow stops the pipeline (its running training is cancelled with it, and its
// experiment killed). Trainings are children with ParentClosePolicy.REQUEST_CANCEL, so terminating or
// resetting this workflow cancels them too. Configuration reaches it by the `applyPipeline` Update,
// applied between trainings (a running training keeps the spec it started with).
import {
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { PipelineSpec } from '../common/pipeline';
import { trainingWorkflowId } from '../common/ids';
import { CtModelName, CtPipeline, CtRepo } from '../common/search-attributes';
import {
  accept,
  describeChildFailure,
  emptyQueue,
  isCommitId,
  ranIn,
  record,
  takeBatch,
  whereIs,
  type CommitQueueState,
  type QueueAnswer,
} from './commit-queue';
import { trainingWorkflow, type TrainingResult } from './training';
import { checkSpecChange, type SpecChange, type SpecChangeAnswer } from './spec-change';
import { checkExcludePatterns } from '../common/path-filter';
import { countCommit } from './metrics';
import { currentTraceParent, inTrace, keepTraceParents } from './trace-context';

export interface NewCommit {
  commit: string;
}

/**
 * The operator's way out when a commit blocks the pipeline (a file every later diff contains makes
 * every experiment fail): the trainings from now on diff against `baseCommit` (skipping what came
 * before it) and/or leave out the paths in `exclude`, until one of them trains a model.
 */
export interface TrainingOverride {
  baseCommit?: string;
  exclude?: string[];
}

/** `ct retry` of a failed commit, optionally with an override for its training. */
export interface RetryRequest extends NewCommit, TrainingOverride {}

/** `ct rebase`: set (or with `clear`, drop) the override of the next trainings. */
export interface OverrideRequest extends TrainingOverride {
  clear?: boolean;
}

export interface OverrideAnswer {
  override: TrainingOverride | null;
  previous: TrainingOverride | null;
  appliesFrom: 'the next training' | 'the training after the running one';
}

export interface RepositoryInput {
  pipeline: PipelineSpec;
  /** The revision of `pipeline` (client/pipelines-config `specRevision`); each training records it. */
  specRevision?: string;
  /** Carried across continue-as-new. */
  state?: CommitQueueState;
  /** Carried across continue-as-new. */
  override?: TrainingOverride;
  /** The trace each waiting commit arrived in (trace-context.ts); carried across continue-as-new. */
  traces?: Record<string, string>;
  /** Continue-as-new past this many history events (default 5000); tests lower it. */
  maxHistoryEvents?: number;
}

export interface RepositoryStatus extends CommitQueueState {
  running: { commit: string; covered: number; workflowId: string } | null;
  specRevision: string | null;
  /** Applied to the trainings until one trains a model (`ct rebase`, `ct retry --exclude`). */
  override: TrainingOverride | null;
}

export type TriggerAnswer = QueueAnswer<'already-trained'>;

/** A new commit to train: answers accepted / already-queued / already-trained / rejected. */
export const newCommitUpdate = defineUpdate<TriggerAnswer, [NewCommit]>('triggerCommit');
/** Train a commit again whose last training failed, timed out or was cancelled (`ct retry`). */
export const retryCommitUpdate = defineUpdate<TriggerAnswer, [RetryRequest]>('retryCommit');
/** Set or clear the override of the next trainings (`ct rebase`). */
export const overrideTrainingUpdate = defineUpdate<OverrideAnswer, [OverrideRequest]>('overrideTraining');
/** A changed pipeline spec, applied from the next training on. */
export const applyPipelineUpdate = defineUpdate<SpecChangeAnswer, [SpecChange<PipelineSpec>]>('applyPipeline');
/** The older, unanswered way to send a commit; running workflows and old callers still use it. */
export const newCommitSignal = defineSignal<[NewCommit]>('newCommit');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const repositoryStatusQuery = defineQuery<RepositoryStatus>('status');

/** Continue-as-new well before the history gets large (the server suggests it too). */
const MAX_HISTORY_EVENTS = 5000;

export async function repositoryWorkflow(input: RepositoryInput): Promise<never> {
  let pipeline = input.pipeline;
  let specRevision = input.specRevision ?? null;
  const state = input.state ?? emptyQueue();
  let override: TrainingOverride | null = input.override ?? null;
  let traces = input.traces ?? {};
  let running: RepositoryStatus['running'] = null;
  let runningBatch: string[] = [];
  const coalesce = () => pipeline.training.mode === 'coalesce';

  const validateCommit = ({ commit }: NewCommit) => {
    if (!isCommitId(commit)) throw new Error(`"${String(commit)}" is not a commit id (1 to 128 letters, digits, _ or -)`);
  };
  // The UI's "current details": read on demand (a query), so they cost no history event.
  const showDetails = () => setCurrentDetails(describeRepository(pipeline, { ...state, running, specRevision, override }));
  // Answers, counted by the ct_commits metric (a commit id the validator refuses is counted as rejected).
  const answered = (answer: TriggerAnswer, commit: string): TriggerAnswer => {
    countCommit(pipeline.name, answer.status);
    // Its training will continue the trace of the request that queued it.
    const traceParent = answer.status === 'accepted' ? currentTraceParent() : undefined;
    if (traceParent) traces[commit] = traceParent;
    showDetails();
    return answer;
  };
  const validateAndCount = (c: NewCommit) => {
    try {
      validateCommit(c);
    } catch (err) {
      countCommit(pipeline.name, 'rejected');
      throw err;
    }
  };
  setHandler(newCommitUpdate, ({ commit }) => answered(accept(state, commit, { coalesce: coalesce(), running: runningBatch, done: 'already-trained' }), commit), {
    validator: validateAndCount,
  });
  const setOverride = (request: TrainingOverride): TrainingOverride | null => {
    const previous = override;
    const next: TrainingOverride = {
      ...(request.baseCommit ? { baseCommit: request.baseCommit } : {}),
      ...(request.exclude?.length ? { exclude: [...new Set(request.exclude)] } : {}),
    };
    if (next.baseCommit || next.exclude) override = next;
    showDetails();
    return previous;
  };
  setHandler(
    retryCommitUpdate,
    ({ commit, baseCommit, exclude }): TriggerAnswer => {
      const where = whereIs(state, commit, runningBatch, 'already-trained');
      if (where?.status === 'already-queued') return answered(where, commit);
      if (where?.status === 'already-trained' && (where.outcome === 'completed' || where.outcome === 'skipped')) {
        return answered({ status: 'rejected', reason: `its training ${where.workflowId} ${where.outcome}: nothing to retry` }, commit);
      }
      setOverride({ baseCommit, exclude });
      // Queued again even though it was accepted before; the child's id reuse policy still refuses
      // to re-run a training that completed (recorded as `duplicate`).
      state.accepted = state.accepted.filter((c) => c !== commit);
      return answered(accept(state, commit, { coalesce: coalesce(), running: runningBatch, done: 'already-trained' }), commit);
    },
    {
      validator: (request) => {
        validateAndCount(request);
        validateOverride(request);
      },
    },
  );
  setHandler(
    overrideTrainingUpdate,
    (request): OverrideAnswer => {
      const previous = request.clear ? override : setOverride(request);
      if (request.clear) override = null;
      showDetails();
      return { override, previous, appliesFrom: running ? 'the training after the running one' : 'the next training' };
    },
    {
      validator: (request) => {
        if (request.clear && (request.baseCommit || request.exclude?.length)) throw new Error('clear takes no base commit or exclude patterns');
        if (!request.clear && !request.baseCommit && !request.exclude?.length) throw new Error('give a base commit, exclude patterns, or clear');
        validateOverride(request);
      },
    },
  );
  setHandler(
    applyPipelineUpdate,
    (change) => {
      const previous = specRevision;
      pipeline = change.spec;
      specRevision = change.revision;
      upsertMemo({ specRevision });
      showDetails();
      return { revision: change.revision, previous, appliesFrom: running ? 'the training after the running one' : 'the next training' };
    },
    { validator: (change) => checkSpecChange(change, inputKey(pipeline), inputKey) },
  );
  setHandler(newCommitSignal, ({ commit }) => {
    if (isCommitId(commit)) answered(accept(state, commit, { coalesce: coalesce(), running: runningBatch, done: 'already-trained' }), commit);
    else countCommit(pipeline.name, 'rejected');
  });
  setHandler(pauseSignal, () => {
    state.paused = true;
    showDetails();
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
    showDetails();
  });
  setHandler(repositoryStatusQuery, () => ({ ...state, running, specRevision, override }));
  upsertSearchAttributes([
    { key: CtPipeline, value: pipeline.name },
    { key: CtRepo, value: pipeline.input.repo },
    { key: CtModelName, value: pipeline.modelName },
  ]);
  if (specRevision) upsertMemo({ specRevision });
  showDetails();

  const maxHistoryEvents = input.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  const historyIsLarge = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents;

  for (;;) {
    await condition(() => (!state.paused && state.pending.length > 0) || historyIsLarge());
    // The Update that queued the commit answers before the training starts, whatever wraps its handler
    // (the tracing interceptors run it a few microtasks later): the same commands in the same order with
    // and without them, so tracing can be switched while repository workflows run.
    await condition(allHandlersFinished);
    if (historyIsLarge()) {
      // Handlers have finished, so no commit is lost in the hand-over: start afresh.
      return continueAsNew<typeof repositoryWorkflow>({
        pipeline,
        specRevision: specRevision ?? undefined,
        state,
        ...(override ? { override } : {}),
        traces: keepTraceParents(traces, state.pending),
        maxHistoryEvents: input.maxHistoryEvents,
      });
    }

    const batch = takeBatch(state, coalesce());
    const commit = batch[batch.length - 1];
    const traceParent = traces[commit];
    traces = keepTraceParents(traces, state.pending);
    const workflowId = trainingWorkflowId(pipeline.modelName, commit);
    ranIn(state, batch, workflowId);
    running = { commit, covered: batch.length, workflowId };
    runningBatch = batch;
    const applied = override;
    showDetails();
    try {
      const result: TrainingResult = await inTrace(traceParent, () => executeChild(trainingWorkflow, {
        workflowId,
        // Shown by the UI on the training's page and in its list (metadata: not part of the replayed commands).
        staticSummary: `train ${pipeline.modelName} on ${pipeline.input.repo}@${commit}${batch.length > 1 ? ` (covers ${batch.length} commits)` : ''}`,
        staticDetails: trainingDetails(pipeline, batch, specRevision),
        args: [{ pipeline, commit, coveredCommits: batch.length, ...(specRevision ? { specRevision } : {}), ...applied }],
        // A commit trained once is never trained again; a failed one may be retried (`ct retry`).
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        // Terminating or resetting this workflow must not leave a training (and its experiment) running.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      }));
      // A model trained past the blockage: later trainings diff against it as usual (unless the
      // operator set another override meanwhile).
      if (result.status === 'trained' && override === applied) override = null;
      record(state, {
        commit,
        covered: batch.length,
        workflowId,
        outcome: result.status === 'trained' ? 'completed' : 'skipped',
        detail:
          result.status === 'trained'
            ? `${result.modelVersion.modelName} version ${result.modelVersion.version} → ${result.outputCommit}`
            : result.reason,
      });
    } catch (err) {
      // This workflow itself is being cancelled: that stops the pipeline. A cancelled or failed
      // training is recorded, and the next commit goes on.
      if (CancellationScope.current().consideredCancelled) throw err;
      record(state, { commit, covered: batch.length, workflowId, ...describeChildFailure(err, 'a training of this commit already exists') });
    } finally {
      running = null;
      runningBatch = [];
      showDetails();
    }
  }
}

function validateOverride({ baseCommit, exclude }: TrainingOverride): void {
  if (baseCommit !== undefined && !isCommitId(baseCommit)) throw new Error(`"${String(baseCommit)}" is not a commit id (1 to 128 letters, digits, _ or -)`);
  const problem = exclude === undefined ? null : checkExcludePatterns(exclude);
  if (problem) throw new Error(problem);
}

/** Markdown for the UI: the pipeline, what runs, what waits, whether it is paused, the last runs. */
export function describeRepository(pipeline: PipelineSpec, status: RepositoryStatus): string {
  const { running, pending, paused, recent, processed } = status;
  const lines = [
    `**${pipeline.name}**: ${pipeline.modelName} from ${inputKey(pipeline)} (${pipeline.training.mode})`,
    `state: ${paused ? 'paused (ct resume to go on)' : running ? 'training' : 'idle, waiting for commits'}`,
    `running: ${running ? `${running.workflowId} on ${running.commit}${running.covered > 1 ? ` (covers ${running.covered} commits)` : ''}` : 'none'}`,
    `queue: ${pending.length ? `${pending.length} waiting (${pending.slice(0, 5).join(', ')}${pending.length > 5 ? ', …' : ''})` : 'empty'}`,
    `processed: ${processed}${status.specRevision ? ` · spec revision ${status.specRevision}` : ''}`,
  ];
  const o = status.override;
  if (o) lines.push(`override (until a training registers a model): ${[o.baseCommit && `diff against ${o.baseCommit}`, o.exclude && `exclude ${o.exclude.join(', ')}`].filter(Boolean).join('; ')}`);
  const last = recent.slice(-5).reverse();
  if (last.length) lines.push('recent:', ...last.map((r) => `- ${r.commit}: ${r.outcome} (${r.detail})`));
  return lines.join('\n');
}

function trainingDetails(pipeline: PipelineSpec, batch: string[], specRevision: string | null): string {
  return [
    `pipeline **${pipeline.name}**: ${inputKey(pipeline)} → ${pipeline.output.project}/${pipeline.output.repo}@${pipeline.output.branch}`,
    `experiment: ${pipeline.experiment.gitUrl}@${pipeline.experiment.ref} (${pipeline.experiment.path}/${pipeline.experiment.configFile})`,
    `commits: ${batch.join(', ')}`,
    `timeout: ${pipeline.training.timeout}${specRevision ? ` · spec revision ${specRevision}` : ''}`,
  ].join('\n');
}

/** What this workflow is keyed on (its id derives from it): a spec change must keep it. */
function inputKey(p: PipelineSpec): string {
  return `${p.input.project}/${p.input.repo}@${p.input.branch}`;
}
