// Starting or waking the long-lived workflows with signal-with-start: used by the CLI, the watcher
// and the demo, so a commit reaches its workflow the same way whoever sends it.
import type { Client } from '@temporalio/client';
import type { PipelineSpec } from '../common/pipeline';
import { deploymentQueueWorkflowId, repositoryWorkflowId } from '../common/ids';
import { repositoryWorkflow, newCommitSignal, deployerWorkflow, deployRequestSignal } from '../workflows';
import type { DeployRequest } from '../workflows/deployer';

export async function signalNewCommit(client: Client, taskQueue: string, pipeline: PipelineSpec, commit: string): Promise<string> {
  const workflowId = repositoryWorkflowId(pipeline.input);
  await client.workflow.signalWithStart(repositoryWorkflow, {
    taskQueue,
    workflowId,
    args: [{ pipeline }],
    signal: newCommitSignal,
    signalArgs: [{ commit }],
    staticSummary: `continuous training of ${pipeline.modelName} on ${pipeline.input.repo}@${pipeline.input.branch}`,
  });
  return workflowId;
}

export async function signalDeploy(
  client: Client,
  taskQueue: string,
  pipeline: PipelineSpec,
  outputCommit: string,
  reason: DeployRequest['reason'],
): Promise<string> {
  const workflowId = deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name);
  await client.workflow.signalWithStart(deployerWorkflow, {
    taskQueue,
    workflowId,
    args: [{ deployment: pipeline.deployment, output: pipeline.output }],
    signal: deployRequestSignal,
    signalArgs: [{ outputCommit, reason }],
    staticSummary: `deployments of ${pipeline.output.repo} to ${pipeline.deployment.namespace}/${pipeline.deployment.name}`,
  });
  return workflowId;
}
