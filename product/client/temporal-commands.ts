// The commands of `ct` that talk to Temporal, loaded only when one of them runs (cli.ts).
import { WorkflowNotFoundError } from '@temporalio/client';
import type { PipelineSpec } from '../common/pipeline';
import { repositoryWorkflowId } from '../common/ids';
import { pauseSignal, resumeSignal } from '../workflows';
import { findPipeline } from './pipelines-config';
import { connectPachd, connectTemporal } from './connect';
import { signalDeploy, signalNewCommit } from './signals';
import { runWatcher } from './watcher';
import { requireCommitOnBranch } from './commit-on-branch';
import { NotFoundError, UsageError, need, out, type Options } from './cli-support';

export async function runTemporalCommand(command: string, rest: string[], values: Options, configured: PipelineSpec[]): Promise<number> {
  const json = !!values.json;
  const pipelines = () => configured;
  try {
    return await run();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NotFoundError(err.message);
    throw err;
  }

  async function run(): Promise<number> {
    const temporal = await connectTemporal();
    try {
      const { client, config } = temporal;
      switch (command) {
        case 'trigger': {
          const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
          await requireCommitOnBranch(connectPachd(), pipeline.input, need(values, 'commit'), 'the input');
          const workflowId = await signalNewCommit(client, config.taskQueue, pipeline, need(values, 'commit'));
          out(json, { workflowId }, `signalled ${workflowId} with commit ${values.commit}`);
          return 0;
        }
        case 'deploy': {
          const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
          await requireCommitOnBranch(connectPachd(), pipeline.output, need(values, 'output-commit'), 'the output');
          const workflowId = await signalDeploy(client, config.taskQueue, pipeline, need(values, 'output-commit'), 'manual');
          out(json, { workflowId }, `asked ${workflowId} to deploy ${values['output-commit']}`);
          return 0;
        }
        case 'pause':
        case 'resume': {
          const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
          const workflowId = repositoryWorkflowId(pipeline.input);
          await client.workflow.getHandle(workflowId).signal(command === 'pause' ? pauseSignal : resumeSignal);
          out(json, { workflowId, paused: command === 'pause' }, `${workflowId} ${command}d`);
          return 0;
        }
        case 'status': {
          const workflowId = rest[0];
          if (!workflowId) throw new UsageError('status needs a WORKFLOW_ID');
          const handle = client.workflow.getHandle(workflowId);
          const description = await handle.describe();
          let status: unknown = null;
          try {
            status = await handle.query('status');
          } catch (err) {
            status = { unavailable: (err as Error).message.split('\n')[0] };
          }
          out(
            json,
            { workflowId, runId: description.runId, type: description.type, state: description.status.name, status },
            `${workflowId} (${description.type}) ${description.status.name}\n${JSON.stringify(status, null, 2)}`,
          );
          return 0;
        }
        case 'list': {
          const clauses: string[] = [];
          const add = (attr: string, v: string | boolean | undefined) => {
            if (typeof v === 'string') clauses.push(`${attr} = '${v.replace(/'/g, "\\'")}'`);
          };
          add('CtPipeline', values.pipeline);
          add('CtRepo', values.repo);
          add('CtCommit', values.commit);
          add('CtModelName', values.model);
          add('CtStep', values.step);
          if (values.query) clauses.push(`(${values.query})`);
          const limit = Number(values.limit ?? 50);
          if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
          const runs: { workflowId: string; type: string; status: string; start: string; step?: unknown }[] = [];
          for await (const wf of client.workflow.list({ query: clauses.join(' AND ') || undefined })) {
            runs.push({
              workflowId: wf.workflowId,
              type: wf.type,
              status: wf.status.name,
              start: wf.startTime.toISOString(),
              step: wf.searchAttributes?.CtStep?.[0],
            });
            if (runs.length >= limit) break;
          }
          out(json, runs, runs.map((r) => `${r.start}  ${r.status.padEnd(10)} ${r.type.padEnd(20)} ${r.workflowId}${r.step ? `  [${String(r.step)}]` : ''}`).join('\n') || 'no runs');
          return 0;
        }
        case 'cancel': {
          const workflowId = rest[0];
          if (!workflowId) throw new UsageError('cancel needs a WORKFLOW_ID');
          await client.workflow.getHandle(workflowId).cancel();
          out(json, { workflowId, cancelled: true }, `cancellation requested for ${workflowId}`);
          return 0;
        }
        case 'watch': {
          const list = pipelines();
          const abort = new AbortController();
          for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => abort.abort());
          await runWatcher({
            client,
            taskQueue: config.taskQueue,
            pipelines: list,
            pachd: connectPachd(),
            signal: abort.signal,
            log: (event, fields) => console.error(JSON.stringify({ ts: new Date().toISOString(), event, ...fields })),
          });
          return 0;
        }
        default:
          throw new UsageError(`unknown command "${command}" (see --help)`);
      }
    } finally {
      await temporal.close();
    }
  }
}
