// The commands of `ct` that talk to Temporal, loaded only when one of them runs (cli.ts). The workflow
// definitions (and @temporalio/workflow with them) and the HTTP clients are loaded only by the commands that
// use them, so `ct status`, `list` and `cancel` start faster (bench/cli-startup.ts).
import fs from 'node:fs';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { PipelineSpec } from '../common/pipeline';
import { deploymentQueueWorkflowId, isCommitId, repositoryWorkflowId, trainingWorkflowId } from '../common/ids';
import { findPipeline, loadPipelinesConfig } from './pipelines-config';
import { connectTemporal } from './connect';
import { NotFoundError, UsageError, need, out, type Options } from './cli-support';
import type { StreamState } from './watcher';
import type { RepoRef } from '../common/pipeline';
import type { OverrideRequest, RepositoryStatus, TrainingOverride } from '../workflows/repository';

/** Refuses (exit 2 or 3) a commit that is not on the branch the pipeline follows (commit-on-branch.ts). */
async function requireOnBranch(at: RepoRef, commit: string, what: string): Promise<void> {
  const [{ requireCommitOnBranch }, { connectPachd }] = await Promise.all([import('./commit-on-branch'), import('./connect-pachd')]);
  await requireCommitOnBranch(connectPachd(), at, commit, what);
}

/** `--base`/`--commit` and `--exclude` of retry and rebase, as the repository workflow takes them. */
function trainingOverride(values: Options, baseCommit: Options[string]): TrainingOverride {
  const exclude = values.exclude;
  return {
    ...(typeof baseCommit === 'string' ? { baseCommit } : {}),
    ...(Array.isArray(exclude) && exclude.length ? { exclude } : {}),
  };
}

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
    const temporal = await connectTemporal(process.env, command === 'watch' ? 'continuous-training-watcher' : 'continuous-training-cli');
    try {
      const { client, config } = temporal;
      const [{ colourEnabled, makeStyle }, { runUrl, uiBaseUrl }] = await Promise.all([import('./render'), import('./ui-link')]);
      const style = makeStyle(colourEnabled(process.stdout, process.env, !!values['no-color']));
      const uiBase = uiBaseUrl(config);
      const link = (workflowId: string, runId?: string) => runUrl(uiBase, config.namespace, workflowId, runId);
      /** Follows a run live on stdout (redrawn in place on a terminal; with --json, on stderr as lines). */
      const follow = async (opts: { waitingFor: string; target: () => Promise<{ workflowId: string; skipRunId?: string } | null> }) => {
        const [{ followRun }, { sdkRunReader }] = await Promise.all([import('./run-view'), import('./sdk-run-reader')]);
        const stream = json ? process.stderr : process.stdout;
        let followed = '';
        return followRun(sdkRunReader(client), {
          ...opts,
          style: json ? makeStyle(false) : style,
          tty: !!stream.isTTY,
          write: (s) => stream.write(s),
          link: (runId) => link(followed, runId),
          target: async () => {
            const t = await opts.target();
            if (t) followed = t.workflowId;
            return t;
          },
        });
      };
      /** A retry is for a training that failed, timed out or was cancelled: say so clearly otherwise. */
      const checkRetryable = async (pipeline: PipelineSpec, commit: string) => {
        const trainingId = trainingWorkflowId(pipeline.modelName, commit);
        const last = await client.workflow.getHandle(trainingId).describe().catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`no training of ${commit} to retry (${trainingId}): use ct trigger`);
          throw err;
        });
        const state = last.status.name;
        if (!['FAILED', 'TIMED_OUT', 'CANCELLED', 'TERMINATED'].includes(state)) {
          throw new UsageError(`the last training of ${commit} (${trainingId}) is ${state}: only a failed, timed-out or cancelled training is retried`);
        }
      };
      switch (command) {
        case 'trigger':
        case 'retry': {
          const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
          const commit = need(values, 'commit');
          // A commit id must be on the pipeline's branch; anything else is the workflow's to reject, with its reason.
          if (isCommitId(commit)) await requireOnBranch(pipeline.input, commit, 'the input');
          const retry = command === 'retry' || !!values.retry;
          if (retry) await checkRetryable(pipeline, commit);
          const override = trainingOverride(values, values.base);
          if (override.baseCommit && isCommitId(override.baseCommit)) await requireOnBranch(pipeline.input, override.baseCommit, 'the input');
          const { describeAnswer, triggerCommit } = await import('./signals');
          // A retried training reuses its workflow id: --wait follows the new run, not the one before.
          const ownId = trainingWorkflowId(pipeline.modelName, commit);
          const before = values.wait ? await client.workflow.getHandle(ownId).describe().then((d) => d.runId, () => undefined) : undefined;
          const { workflowId, answer } = await triggerCommit(client, config.taskQueue, pipeline, commit, { retry, override });
          // The training that takes the commit: its own, or the one named by the answer (already trained).
          const trainingId = answer.status === 'rejected' ? null : answer.status === 'already-trained' ? answer.workflowId : ownId;
          out(
            json && !values.wait,
            { workflowId, commit, ...answer, trainingWorkflowId: trainingId },
            `${commit} → ${workflowId}: ${describeAnswer(answer)}${trainingId ? `\ntraining run: ${trainingId}` : ''}`,
          );
          // A rejection fails the caller (e.g. the Pachyderm trigger pipeline's job).
          if (answer.status === 'rejected' || !values.wait) return answer.status === 'rejected' ? 1 : 0;
          const view = await follow({
            waitingFor: 'waiting for the training to start',
            target: async () => {
              if (answer.status === 'already-trained') return { workflowId: answer.workflowId };
              // A commit coalesced into a newer one's training runs in that training.
              const queue = await client.workflow.getHandle(workflowId).query<RepositoryStatus>('status').catch(() => null);
              const ranIn = queue?.ranIn?.[commit];
              return { workflowId: ranIn ?? ownId, skipRunId: before };
            },
          });
          if (json) out(true, { workflowId, commit, ...answer, trainingWorkflowId: view.workflowId, runId: view.runId, state: view.state, result: view.status?.result ?? null, failure: view.failure ?? null }, '');
          return view.state === 'COMPLETED' ? 0 : 1;
        }
        case 'rebase': {
          const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
          const request: OverrideRequest = values.clear ? { clear: true } : trainingOverride(values, need(values, 'commit'));
          if (request.baseCommit && isCommitId(request.baseCommit)) await requireOnBranch(pipeline.input, request.baseCommit, 'the input');
          const { describeOverride, overrideTraining } = await import('./signals');
          const { workflowId, answer } = await overrideTraining(client, config.taskQueue, pipeline, request);
          if ('status' in answer) {
            out(json, { workflowId, ...answer }, `${workflowId}: rejected: ${answer.reason}`);
            return 1;
          }
          out(json, { workflowId, ...answer }, `${workflowId}: ${describeOverride(answer.override)} (from ${answer.appliesFrom})`);
          return 0;
        }
        case 'deploy': {
          const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
          const outputCommit = need(values, 'output-commit');
          if (isCommitId(outputCommit)) await requireOnBranch(pipeline.output, outputCommit, 'the output');
          const { describeAnswer, requestDeploy } = await import('./signals');
          const { workflowId, answer } = await requestDeploy(client, config.taskQueue, pipeline, need(values, 'output-commit'), 'manual');
          out(json, { workflowId, outputCommit: values['output-commit'], ...answer }, `${values['output-commit']} → ${workflowId}: ${describeAnswer(answer)}`);
          return answer.status === 'rejected' ? 1 : 0;
        }
        case 'apply': {
          const { applyConfig } = await import('./apply-config');
          const report = await applyConfig(client, config.taskQueue, pipelines(), { stopRemoved: true });
          out(json, report, report.lines.join('\n') || 'nothing running to update');
          return 0;
        }
        case 'pause':
        case 'resume': {
          const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
          const workflowId = values.deployment
            ? deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name)
            : repositoryWorkflowId(pipeline.input);
          const { pauseSignal, resumeSignal } = await import('../workflows');
          await client.workflow.getHandle(workflowId).signal(command === 'pause' ? pauseSignal : resumeSignal);
          out(json, { workflowId, paused: command === 'pause' }, `${workflowId} ${command}d`);
          return 0;
        }
        case 'status': {
          // Only --follow comes here: a single read is status-command.ts, without the SDK.
          const workflowId = rest[0];
          const view = await follow({ waitingFor: `waiting for ${workflowId} to start`, target: async () => ({ workflowId }) });
          if (json) out(true, { workflowId, runId: view.runId, type: view.type, state: view.state, status: view.status, failure: view.failure ?? null }, '');
          return view.state === 'COMPLETED' ? 0 : 1;
        }
        case 'list': {
          const clauses: string[] = [];
          const add = (attr: string, v: Options[string]) => {
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
          const { listRuns } = await import('./list-runs');
          const runs = await listRuns(client, clauses.join(' AND ') || undefined, limit);
          if (json) out(true, runs, '');
          else {
            const { formatRunsTable } = await import('./list-runs');
            console.log(runs.length ? formatRunsTable(runs, style) : 'no runs');
          }
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
          const [{ runWatcher }, { connectPachd }, { applyConfig }, { startHealthServer, temporalUnreachable }] = await Promise.all([
            import('./watcher'),
            import('./connect-pachd'),
            import('./apply-config'),
            import('../worker/health-server'),
          ]);
          const { writeLog, logProcessWarnings } = await import('../worker/json-log');
          logProcessWarnings();
          // The schema of the worker's logs (worker/json-log.ts), with the watcher's event name.
          const log = (event: string, fields: Record<string, unknown>) =>
            writeLog(String(fields.level ?? (/error|missing|not-on-branch/.test(event) ? 'warn' : 'info')), String(fields.message ?? describeWatchEvent(event, fields)), { event, ...fields });
          // The file's specs reach the running workflows at start and whenever the file changes.
          const apply = async (specs: PipelineSpec[]) => {
            const report = await applyConfig(client, config.taskQueue, specs, { stopRemoved: false });
            for (const u of report.updated) log('watch.config', { ...u });
          };
          await apply(list);
          const file = need(values, 'config');
          fs.watchFile(file, { interval: 2000 }, () => {
            let specs: PipelineSpec[];
            try {
              specs = loadPipelinesConfig(file);
            } catch (err) {
              return log('watch.config-error', { error: (err as Error).message });
            }
            const added = specs.filter((p) => !list.some((q) => q.name === p.name)).map((p) => p.name);
            if (added.length) log('watch.config-restart-needed', { added, note: 'new pipelines are followed after a watcher restart' });
            apply(specs).catch((err: unknown) => log('watch.config-error', { error: (err as Error).message }));
          });
          abort.signal.addEventListener('abort', () => fs.unwatchFile(file));
          // Ready when Temporal answers and every stream is open (or waits for its repo to be created).
          const streams = new Map<string, StreamState>();
          const healthAddress = process.env.CT_HEALTH_ADDRESS;
          const metrics = await startWatcherMetrics(process.env.CT_METRICS_ADDRESS);
          const health = healthAddress
            ? await startHealthServer(healthAddress, async () => {
                if (streams.size === 0) return 'starting';
                const notOpen = [...streams].filter(([, state]) => state === 'connecting' || state === 'down');
                if (notOpen.length > 0) return `not subscribed: ${notOpen.map(([stream, state]) => `${stream} ${state}`).join(', ')}`;
                return temporalUnreachable(client.connection);
              })
            : undefined;
          try {
            await runWatcher({
              client,
              taskQueue: config.taskQueue,
              pipelines: list,
              pachd: connectPachd(),
              signal: abort.signal,
              log,
              onStream: (stream, state) => streams.set(stream, state),
              metrics,
            });
          } finally {
            await health?.close();
          }
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

/**
 * The watcher's metrics on a Prometheus endpoint at `address` (CT_METRICS_ADDRESS, as for the worker),
 * through a Temporal Runtime's metric meter; none without an address.
 */
async function startWatcherMetrics(address: string | undefined): Promise<import('./watcher-metrics').WatcherMetrics | undefined> {
  if (!address) return undefined;
  const [{ Runtime }, { watcherMetrics }] = await Promise.all([import('@temporalio/worker'), import('./watcher-metrics')]);
  Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: address } } } });
  return watcherMetrics(Runtime.instance().metricMeter);
}

/** The message of a watcher log line: what happened, for a person. */
function describeWatchEvent(event: string, f: Record<string, unknown>): string {
  switch (event) {
    case 'watch.subscribe':
      return `following ${String(f.repo)} for ${String(f.what)}${f.cursor ? ` after ${String(f.cursor)}` : ''}`;
    case 'watch.answer':
      return `${String(f.what)} commit ${String(f.commit)} of ${String(f.repo)}: ${String(f.answer)}`;
    case 'watch.error':
      return `${String(f.repo)}: ${String(f.error)}; retrying in ${String(f.retryInMs)} ms`;
    case 'watch.repo-missing':
      return `${String(f.repo)} does not exist yet; looking again every ${String(f.checkEveryMs)} ms`;
    case 'watch.repo-appeared':
      return `${String(f.repo)} exists now`;
    case 'watch.config':
      return 'pipeline spec applied to its running workflow';
    case 'watch.config-error':
      return `the pipelines file could not be applied: ${String(f.error)}`;
    default:
      return event;
  }
}
