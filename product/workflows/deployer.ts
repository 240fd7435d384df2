// One long-lived workflow per Seldon deployment name: output commits (the cascade from the output
// repo, or a manual redeploy / roll back) arrive as Updates (update-with-start; the older signal still
// works) and are rolled out one at a time. When several are waiting, only the newest is deployed:
// older ones would be replaced at once. Pause/resume holds rollouts (they queue); a cancelled rollout is
// recorded (and rolled back by the deployment workflow) and the next request goes on; cancelling this
// workflow stops the deployer.
import {
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { DeploymentSettings, RepoRef } from '../common/pipeline';
import { deploymentWorkflowId } from '../common/ids';
import { CtDeploymentName, CtPipeline, CtRepo } from '../common/search-attributes';
import { DEPLOYMENT_PIPELINE_ATTRIBUTE } from './patches';
import { describeChildFailure, emptyQueue, isCommitId, record, remember, ranIn, whereIs, MAX_PENDING, type CommitQueueState, type QueueAnswer } from './commit-queue';
import { deploymentWorkflow } from './deployment';
import { pauseSignal, resumeSignal } from './repository';
import { checkSpecChange, type SpecChange, type SpecChangeAnswer } from './spec-change';
import { asTraceParent, currentTraceParent, inTrace, keepTraceParents } from './trace-context';

export interface DeployRequest {
  outputCommit: string;
  reason: 'cascade' | 'manual';
  /** The trace of the training that published the commit (its description's `trace=`): the rollout joins it. */
  traceParent?: string;
}

export interface DeployerInput {
  deployment: DeploymentSettings;
  output: RepoRef;
  /** The pipeline whose models this deployer rolls out: each rollout carries it as CtPipeline. Absent for deployers started before it existed. */
  pipelineName?: string;
  specRevision?: string;
  state?: CommitQueueState;
  /** Reasons of the pending commits, by commit. */
  reasons?: Record<string, DeployRequest['reason']>;
  /** The trace of each pending commit (trace-context.ts). */
  traces?: Record<string, string>;
}

export interface DeployerStatus extends CommitQueueState {
  running: { outputCommit: string; workflowId: string } | null;
  specRevision: string | null;
}

export type DeployAnswer = QueueAnswer<'already-deployed'>;

/** A deploy request: answers accepted / already-queued / already-deployed / rejected. */
export const deployUpdate = defineUpdate<DeployAnswer, [DeployRequest]>('requestDeploy');
/** Changed deployment settings, applied from the next rollout on. */
export const applyDeploymentUpdate = defineUpdate<SpecChangeAnswer, [SpecChange<{ deployment: DeploymentSettings; output: RepoRef }>]>('applyDeployment');
/** The older, unanswered way to ask for a deploy. */
export const deployRequestSignal = defineSignal<[DeployRequest]>('deploy');
export const deployerStatusQuery = defineQuery<DeployerStatus>('status');

const MAX_HISTORY_EVENTS = 5000;

export async function deployerWorkflow(input: DeployerInput): Promise<never> {
  let { deployment, output } = input;
  let specRevision = input.specRevision ?? null;
  const state = input.state ?? emptyQueue();
  const reasons = input.reasons ?? {};
  let traces = input.traces ?? {};
  let running: DeployerStatus['running'] = null;

  // Unlike training, a manual request may deploy a commit again (a roll back to an older version),
  // so only a commit already waiting (or, for the cascade, already seen) is deduplicated. Only the
  // newest waiting commit is deployed, so a full queue drops its oldest.
  const request = ({ outputCommit, reason, traceParent }: DeployRequest): DeployAnswer => {
    const known = whereIs(state, outputCommit, running ? [running.outputCommit] : [], 'already-deployed');
    if (known && (reason === 'cascade' || known.status === 'already-queued')) return known;
    if (state.pending.length >= MAX_PENDING) delete reasons[state.pending.shift() as string];
    state.pending.push(outputCommit);
    remember(state, outputCommit);
    reasons[outputCommit] = reason === 'manual' ? 'manual' : 'cascade';
    // The training's trace when the request names it, else the request's own (ct deploy, an untraced watcher).
    const trace = asTraceParent(traceParent) ?? currentTraceParent();
    if (trace) traces[outputCommit] = trace;
    return { status: 'accepted', position: state.pending.length };
  };
  setHandler(deployUpdate, request, {
    validator: ({ outputCommit, reason }) => {
      if (!isCommitId(outputCommit)) throw new Error(`"${String(outputCommit)}" is not a commit id`);
      if (reason !== 'cascade' && reason !== 'manual') throw new Error(`reason must be cascade or manual, not "${String(reason)}"`);
    },
  });
  setHandler(deployRequestSignal, (req) => {
    if (isCommitId(req.outputCommit)) request(req);
  });
  setHandler(
    applyDeploymentUpdate,
    (change) => {
      const previous = specRevision;
      ({ deployment, output } = change.spec);
      specRevision = change.revision;
      upsertMemo({ specRevision });
      return { revision: change.revision, previous, appliesFrom: running ? 'the rollout after the running one' : 'the next rollout' };
    },
    { validator: (change) => checkSpecChange(change, deploymentKey({ deployment, output }), deploymentKey) },
  );
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(deployerStatusQuery, () => ({ ...state, running, specRevision }));
  upsertSearchAttributes([
    { key: CtDeploymentName, value: deployment.name },
    { key: CtRepo, value: output.repo },
  ]);
  if (specRevision) upsertMemo({ specRevision });

  const historyIsLarge = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;

  for (;;) {
    await condition(() => (!state.paused && state.pending.length > 0) || historyIsLarge());
    if (historyIsLarge()) {
      await condition(allHandlersFinished);
      traces = keepTraceParents(traces, state.pending);
      return continueAsNew<typeof deployerWorkflow>({ deployment, output, pipelineName: input.pipelineName, specRevision: specRevision ?? undefined, state, reasons, traces });
    }
    const batch = state.pending.splice(0);
    const outputCommit = batch[batch.length - 1];
    const reason = reasons[outputCommit] ?? 'cascade';
    for (const c of batch) delete reasons[c];
    const traceParent = traces[outputCommit];
    traces = keepTraceParents(traces, state.pending);
    const workflowId = deploymentWorkflowId(deployment.namespace, deployment.name, outputCommit);
    ranIn(state, batch, workflowId);
    running = { outputCommit, workflowId };
    try {
      // The pipeline filter of the UI lists rollouts too. A search attribute of the start command: new runs only.
      const pipelineAttribute =
        input.pipelineName && patched(DEPLOYMENT_PIPELINE_ATTRIBUTE) ? { typedSearchAttributes: [{ key: CtPipeline, value: input.pipelineName }] } : {};
      const result = await inTrace(traceParent, () => executeChild(deploymentWorkflow, {
        workflowId,
        args: [{ deployment, output, outputCommit, reason }],
        ...pipelineAttribute,
        staticSummary: `deploy ${output.repo}@${outputCommit} to ${deployment.namespace}/${deployment.name} (${reason}${batch.length > 1 ? `, newest of ${batch.length}` : ''})`,
        staticDetails: [
          input.pipelineName ? `pipeline **${input.pipelineName}**` : null,
          `model commit: ${output.project}/${output.repo}@${outputCommit}`,
          `strategy: ${deployment.strategy} · ready within ${deployment.readyTimeout}${deployment.promotionGate ? ' · promotion gate on' : ''}`,
        ]
          .filter(Boolean)
          .join('\n'),
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        // Terminating or resetting this workflow cancels the rollout, which rolls back.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      }));
      record(state, {
        commit: outputCommit,
        covered: batch.length,
        workflowId,
        outcome: result.status === 'deployed' ? 'completed' : 'skipped',
        detail: result.status === 'deployed' ? `${result.modelInfo.name} version ${result.modelInfo.registryVersion}` : result.status === 'skipped' ? result.reason : result.error,
      });
    } catch (err) {
      // This workflow itself is being cancelled: that stops the deployer. A cancelled or failed
      // rollout is recorded, and the next request goes on.
      if (CancellationScope.current().consideredCancelled) throw err;
      record(state, { commit: outputCommit, covered: batch.length, workflowId, ...describeChildFailure(err, 'a rollout of this commit is running') });
    } finally {
      running = null;
    }
  }
}

/** What this workflow is keyed on (its id derives from it): a spec change must keep it. */
function deploymentKey(s: { deployment: DeploymentSettings; output: RepoRef }): string {
  return `${s.deployment.namespace}/${s.deployment.name}`;
}
