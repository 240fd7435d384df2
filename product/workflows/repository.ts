// One long-lived workflow per watched input repository and branch. New-commit signals (from the
// watcher or Pachyderm's own trigger, via signal-with-start) queue commits; one training runs at a
// time; commits that arrive meanwhile are coalesced into the next training by default.
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { PipelineSpec } from '../common/pipeline';
import { legacyIds, trainingWorkflowId } from '../common/ids';
import { INJECTIVE_WORKFLOW_IDS } from './patches';
import { CtModelName, CtPipeline, CtRepo } from '../common/search-attributes';
import { accept, describeRootCause, emptyQueue, isCommitId, record, takeBatch, type CommitQueueState } from './commit-queue';
import { trainingWorkflow, type TrainingResult } from './training';

export interface NewCommit {
  commit: string;
}

export interface RepositoryInput {
  pipeline: PipelineSpec;
  /** Carried across continue-as-new. */
  state?: CommitQueueState;
  /** Continue-as-new past this many history events (default 5000); tests lower it. */
  maxHistoryEvents?: number;
}

export interface RepositoryStatus extends CommitQueueState {
  running: { commit: string; covered: number; workflowId: string } | null;
}

export const newCommitSignal = defineSignal<[NewCommit]>('newCommit');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const repositoryStatusQuery = defineQuery<RepositoryStatus>('status');

/** Continue-as-new well before the history gets large (the server suggests it too). */
const MAX_HISTORY_EVENTS = 5000;

export async function repositoryWorkflow(input: RepositoryInput): Promise<never> {
  const { pipeline } = input;
  const state = input.state ?? emptyQueue();
  let running: RepositoryStatus['running'] = null;

  setHandler(newCommitSignal, ({ commit }) => {
    if (isCommitId(commit)) accept(state, commit);
  });
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(repositoryStatusQuery, () => ({ ...state, running }));
  upsertSearchAttributes([
    { key: CtPipeline, value: pipeline.name },
    { key: CtRepo, value: pipeline.input.repo },
    { key: CtModelName, value: pipeline.modelName },
  ]);

  const maxHistoryEvents = input.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  const historyIsLarge = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents;

  for (;;) {
    await condition(() => (!state.paused && state.pending.length > 0) || historyIsLarge());
    if (historyIsLarge()) {
      // Let signal handlers finish so no commit is lost in the hand-over, then start afresh.
      await condition(allHandlersFinished);
      return continueAsNew<typeof repositoryWorkflow>({ pipeline, state, maxHistoryEvents: input.maxHistoryEvents });
    }

    const batch = takeBatch(state, pipeline.training.mode === 'coalesce');
    const commit = batch[batch.length - 1];
    // Runs started before INJECTIVE_WORKFLOW_IDS replay the child ids they recorded.
    const workflowId = patched(INJECTIVE_WORKFLOW_IDS)
      ? trainingWorkflowId(pipeline.modelName, commit)
      : legacyIds.training(pipeline.modelName, commit);
    running = { commit, covered: batch.length, workflowId };
    try {
      const result: TrainingResult = await executeChild(trainingWorkflow, {
        workflowId,
        args: [{ pipeline, commit, coveredCommits: batch.length }],
        // A commit trained once is never trained again; a failed training may be retried by hand.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      });
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
      if (isCancellation(err)) throw err;
      record(state, { commit, covered: batch.length, workflowId, ...describeFailure(err) });
    } finally {
      running = null;
    }
  }
}

function describeFailure(err: unknown): { outcome: 'failed' | 'duplicate'; detail: string } {
  if (err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError') {
    return { outcome: 'duplicate', detail: 'a training of this commit already exists' };
  }
  return { outcome: 'failed', detail: describeRootCause(err) };
}
