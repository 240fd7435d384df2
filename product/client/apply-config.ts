// `ct apply` (and the watcher at start): sends each pipeline's spec from the configuration file to its
// running repository and deployer workflows through a validated Update, applied between runs (a
// running training or rollout finishes with the spec it started with). A running workflow whose
// pipeline is no longer in the file is cancelled (the way to stop a pipeline), and said so; a
// workflow not running yet picks the spec up when it starts.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PipelineSpec } from '../common/pipeline';
import { deploymentQueueWorkflowId, repositoryWorkflowId } from '../common/ids';
import { applyDeploymentUpdate, applyPipelineUpdate } from '../workflows';
import { deployerSpec, specRevision } from './signals';

export interface ApplyReport {
  updated: { workflowId: string; revision: string; previous: string | null }[];
  unchanged: string[];
  notRunning: string[];
  stopped: string[];
  lines: string[];
}

/** `stopRemoved`: cancel running pipelines the file no longer names (`ct apply`; the watcher only updates). */
export async function applyConfig(client: Client, taskQueue: string, pipelines: PipelineSpec[], opts: { stopRemoved: boolean }): Promise<ApplyReport> {
  const report: ApplyReport = { updated: [], unchanged: [], notRunning: [], stopped: [], lines: [] };
  const wanted = new Set<string>();
  const send = async (workflowId: string, revision: string, update: () => Promise<{ revision: string; previous: string | null; appliesFrom: string }>) => {
    wanted.add(workflowId);
    const handle = client.workflow.getHandle(workflowId);
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') {
        report.notRunning.push(workflowId);
        return;
      }
      const memo = description.memo as { specRevision?: string } | undefined;
      if (memo?.specRevision === revision) {
        report.unchanged.push(workflowId);
        return;
      }
      const answer = await update();
      report.updated.push({ workflowId, revision: answer.revision, previous: answer.previous });
      report.lines.push(`${workflowId}: configuration ${answer.previous ?? '(unrecorded)'} → ${answer.revision}, applies from ${answer.appliesFrom}`);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return void report.notRunning.push(workflowId);
      throw err;
    }
  };
  for (const pipeline of pipelines) {
    const revision = specRevision(pipeline);
    await send(repositoryWorkflowId(pipeline.input), revision, () =>
      client.workflow.getHandle(repositoryWorkflowId(pipeline.input)).executeUpdate(applyPipelineUpdate, { args: [{ spec: pipeline, revision }] }),
    );
    const spec = deployerSpec(pipeline);
    const deployerRevision = specRevision(spec);
    const deployerId = deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name);
    await send(deployerId, deployerRevision, () =>
      client.workflow.getHandle(deployerId).executeUpdate(applyDeploymentUpdate, { args: [{ spec, revision: deployerRevision }] }),
    );
  }
  if (!opts.stopRemoved) return report;
  // Running long-lived workflows of this task queue that no pipeline of the file names any more.
  const query = `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running' AND WorkflowType IN ('repositoryWorkflow', 'deployerWorkflow')`;
  for await (const wf of client.workflow.list({ query })) {
    if (wanted.has(wf.workflowId)) continue;
    await client.workflow.getHandle(wf.workflowId).cancel();
    report.stopped.push(wf.workflowId);
    report.lines.push(`${wf.workflowId}: its pipeline is no longer in the configuration: stopped (cancelled; its running run is cancelled too)`);
  }
  return report;
}
