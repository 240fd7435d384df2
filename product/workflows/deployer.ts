// One long-lived workflow per Seldon deployment name: output commits (the cascade from the output
// repo, or a manual redeploy / roll back) arrive by signal-with-start and are rolled out one at a
// time. When several are waiting, only the newest is deployed: older ones would be replaced at once.
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
import type { DeploymentSettings, RepoRef } from '../common/pipeline';
import { deploymentWorkflowId, legacyIds } from '../common/ids';
import { INJECTIVE_WORKFLOW_IDS } from './patches';
import { CtDeploymentName, CtRepo } from '../common/search-attributes';
import { describeRootCause, emptyQueue, isCommitId, record, remember, type CommitQueueState } from './commit-queue';
import { deploymentWorkflow } from './deployment';

export interface DeployRequest {
  outputCommit: string;
  reason: 'cascade' | 'manual';
}

export interface DeployerInput {
  deployment: DeploymentSettings;
  output: RepoRef;
  state?: CommitQueueState;
  /** Reasons of the pending commits, by commit. */
  reasons?: Record<string, DeployRequest['reason']>;
}

export interface DeployerStatus extends CommitQueueState {
  running: { outputCommit: string; workflowId: string } | null;
}

export const deployRequestSignal = defineSignal<[DeployRequest]>('deploy');
export const deployerStatusQuery = defineQuery<DeployerStatus>('status');

const MAX_HISTORY_EVENTS = 5000;

export async function deployerWorkflow(input: DeployerInput): Promise<never> {
  const { deployment, output } = input;
  const state = input.state ?? emptyQueue();
  const reasons = input.reasons ?? {};
  let running: DeployerStatus['running'] = null;

  // Unlike training, a manual request may deploy a commit again (a roll back to an older version),
  // so only a commit already waiting is deduplicated.
  setHandler(deployRequestSignal, ({ outputCommit, reason }) => {
    if (!isCommitId(outputCommit)) return;
    if (reason === 'cascade' && state.accepted.includes(outputCommit)) return;
    if (state.pending.includes(outputCommit)) return;
    state.pending.push(outputCommit);
    remember(state, outputCommit);
    reasons[outputCommit] = reason === 'manual' ? 'manual' : 'cascade';
  });
  setHandler(deployerStatusQuery, () => ({ ...state, running }));
  upsertSearchAttributes([
    { key: CtDeploymentName, value: deployment.name },
    { key: CtRepo, value: output.repo },
  ]);

  const historyIsLarge = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;

  for (;;) {
    await condition(() => (!state.paused && state.pending.length > 0) || historyIsLarge());
    if (historyIsLarge()) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof deployerWorkflow>({ deployment, output, state, reasons });
    }
    const batch = state.pending.splice(0);
    const outputCommit = batch[batch.length - 1];
    const reason = reasons[outputCommit] ?? 'cascade';
    for (const c of batch) delete reasons[c];
    // Runs started before INJECTIVE_WORKFLOW_IDS replay the child ids they recorded.
    const workflowId = patched(INJECTIVE_WORKFLOW_IDS)
      ? deploymentWorkflowId(deployment.namespace, deployment.name, outputCommit)
      : legacyIds.deployment(deployment.namespace, deployment.name, outputCommit);
    running = { outputCommit, workflowId };
    try {
      const result = await executeChild(deploymentWorkflow, {
        workflowId,
        args: [{ deployment, output, outputCommit, reason }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      });
      record(state, {
        commit: outputCommit,
        covered: batch.length,
        workflowId,
        outcome: result.status === 'deployed' ? 'completed' : 'skipped',
        detail: result.status === 'deployed' ? `${result.modelInfo.name} version ${result.modelInfo.registryVersion}` : result.status === 'skipped' ? result.reason : result.error,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      record(state, { commit: outputCommit, covered: batch.length, workflowId, outcome: 'failed', detail: describeRootCause(err) });
    } finally {
      running = null;
    }
  }
}
