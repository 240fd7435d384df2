// Starting or reaching the long-lived workflows with update-with-start: used by the CLI, the watcher
// and the demo, so a commit reaches its workflow the same way whoever sends it, and the sender learns
// what became of it (accepted at a position, already queued, already trained/deployed, or rejected).
import crypto from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { PipelineSpec } from '../common/pipeline';
import { deploymentQueueWorkflowId, repositoryWorkflowId } from '../common/ids';
import { CtPipeline } from '../common/search-attributes';
import { repositoryWorkflow, newCommitUpdate, retryCommitUpdate, overrideTrainingUpdate, deployerWorkflow, deployUpdate } from '../workflows';
import type { DeployAnswer, DeployRequest } from '../workflows/deployer';
import type { OverrideAnswer, OverrideRequest, TrainingOverride, TriggerAnswer } from '../workflows/repository';

/** A short, stable hash of a spec: the revision each run records (memo `specRevision`). */
export function specRevision(spec: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)])) : v;
  return crypto.createHash('sha256').update(JSON.stringify(canonical(spec))).digest('hex').slice(0, 12);
}

/** A validator's refusal (an invalid commit id) comes back as an error: it is an answer like the others. */
async function answered<A>(send: () => Promise<A>): Promise<A | { status: 'rejected'; reason: string }> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return { status: 'rejected', reason: (err.cause?.message ?? err.message).split('\n')[0] };
    throw err;
  }
}

/**
 * Sends a new commit (or, with `retry`, a commit whose training failed, optionally with an override for
 * its training: `ct retry --base/--exclude`) to its repository workflow.
 */
export async function triggerCommit(
  client: Client,
  taskQueue: string,
  pipeline: PipelineSpec,
  commit: string,
  opts: { retry?: boolean; override?: TrainingOverride } = {},
): Promise<{ workflowId: string; answer: TriggerAnswer }> {
  const workflowId = repositoryWorkflowId(pipeline.input);
  const answer = await answered(() =>
    opts.retry
      ? client.workflow.executeUpdateWithStart(retryCommitUpdate, {
          args: [{ commit, ...opts.override }],
          startWorkflowOperation: startRepositoryWorkflow(taskQueue, pipeline),
        })
      : client.workflow.executeUpdateWithStart(newCommitUpdate, { args: [{ commit }], startWorkflowOperation: startRepositoryWorkflow(taskQueue, pipeline) }),
  );
  return { workflowId, answer };
}

/** Sets (or clears) the override of a pipeline's next trainings (`ct rebase`). */
export async function overrideTraining(
  client: Client,
  taskQueue: string,
  pipeline: PipelineSpec,
  request: OverrideRequest,
): Promise<{ workflowId: string; answer: OverrideAnswer | { status: 'rejected'; reason: string } }> {
  const answer = await answered(() =>
    client.workflow.executeUpdateWithStart(overrideTrainingUpdate, { args: [request], startWorkflowOperation: startRepositoryWorkflow(taskQueue, pipeline) }),
  );
  return { workflowId: repositoryWorkflowId(pipeline.input), answer };
}

function startRepositoryWorkflow(taskQueue: string, pipeline: PipelineSpec) {
  return new WithStartWorkflowOperation(repositoryWorkflow, {
    taskQueue,
    workflowId: repositoryWorkflowId(pipeline.input),
    args: [{ pipeline, specRevision: specRevision(pipeline) }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    staticSummary: `continuous training of ${pipeline.modelName} on ${pipeline.input.repo}@${pipeline.input.branch}`,
  });
}

/** One line for a person: what the trainings from now on will do differently. */
export function describeOverride(o: TrainingOverride | null): string {
  if (!o) return 'none: trainings diff against the commit the latest model was trained on';
  const parts = [];
  if (o.baseCommit) parts.push(`diff against ${o.baseCommit}`);
  if (o.exclude?.length) parts.push(`leave out ${o.exclude.join(', ')}`);
  return `${parts.join(' and ')}, until a training registers a model`;
}

/** Asks the deployer of a pipeline's deployment to roll out an output commit (in the trace `traceParent` names, if any). */
export async function requestDeploy(
  client: Client,
  taskQueue: string,
  pipeline: PipelineSpec,
  outputCommit: string,
  reason: DeployRequest['reason'],
  traceParent?: string,
): Promise<{ workflowId: string; answer: DeployAnswer }> {
  const workflowId = deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name);
  const answer = await answered(() =>
    client.workflow.executeUpdateWithStart(deployUpdate, {
      args: [{ outputCommit, reason, ...(traceParent ? { traceParent } : {}) }],
      startWorkflowOperation: new WithStartWorkflowOperation(deployerWorkflow, {
        taskQueue,
        workflowId,
        args: [{ deployment: pipeline.deployment, output: pipeline.output, pipelineName: pipeline.name, specRevision: specRevision(deployerSpec(pipeline)) }],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        // The UI's pipeline filter (CtPipeline="…") lists the deployer with the pipeline's other runs.
        typedSearchAttributes: [{ key: CtPipeline, value: pipeline.name }],
        staticSummary: `deployments of ${pipeline.output.repo} to ${pipeline.deployment.namespace}/${pipeline.deployment.name}`,
      }),
    }),
  );
  return { workflowId, answer };
}

/** The part of a pipeline spec the deployer uses. */
export function deployerSpec(pipeline: PipelineSpec): { deployment: PipelineSpec['deployment']; output: PipelineSpec['output'] } {
  return { deployment: pipeline.deployment, output: pipeline.output };
}

/** One line for a person: what became of the request. */
export function describeAnswer(answer: TriggerAnswer | DeployAnswer): string {
  switch (answer.status) {
    case 'accepted':
      return `accepted: queued at position ${answer.position}`;
    case 'already-queued':
      return answer.position === 0 ? 'already queued: it is being processed now' : `already queued at position ${answer.position}`;
    case 'already-trained':
    case 'already-deployed':
      return `${answer.status} by ${answer.workflowId}${answer.outcome ? ` (${answer.outcome})` : ''}`;
    case 'rejected':
      return `rejected: ${answer.reason}`;
  }
}
