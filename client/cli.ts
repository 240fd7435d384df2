// `ct`: the command line of the product. `npx tsx client/cli.ts --help`.
// Exit codes: 0 success, 1 failure (a run failed, a system is unreachable), 2 bad usage or config,
// 3 not found. Errors are one line on stderr; --json prints machine-readable results on stdout.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowNotFoundError } from '@temporalio/client';
import { loadPipelinesConfig, findPipeline, PipelinesConfigError, UnknownPipelineError } from './pipelines-config';
import { connectTemporal } from './connect';
import { signalDeploy, signalNewCommit } from './signals';
import { runWatcher, type StreamState } from './watcher';
import { startHealthServer, temporalUnreachable } from '../worker/health-server';
import { putFiles } from './put-files';
import { pauseSignal, resumeSignal } from '../workflows';
import { repositoryWorkflowId } from '../common/ids';

const HELP = `ct — continuous training on Temporal

Usage: npx tsx client/cli.ts <command> [options]

Commands:
  trigger  --config F --pipeline P --commit ID   train pipeline P on input commit ID (signal-with-start)
  deploy   --config F --pipeline P --output-commit ID
                                                 deploy (or roll back to) the model of an output commit
  watch    --config F                            follow the input and output repos and signal the workflows
  status   WORKFLOW_ID                           a run's current step, steps and result (the status query)
  list     [--pipeline P] [--repo R] [--commit C] [--model M] [--step S] [--query Q] [--limit N]
                                                 list runs by search attributes
  cancel   WORKFLOW_ID                           cancel a run (a training kills its experiment)
  pause    --config F --pipeline P               stop starting trainings for new commits (they queue)
  resume   --config F --pipeline P               start them again
  put      --repo R [--branch B] [--project P] [--dest DIR] PATH...
                                                 commit files into Pachyderm (PACHD_URL, PACHD_TOKEN) as one commit

Options: --json (machine-readable output), --help.
Temporal connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, CT_TASK_QUEUE, TEMPORAL_TLS_*, TEMPORAL_API_KEY,
or an envconfig profile: TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE. watch: CT_HEALTH_ADDRESS (/healthz, /readyz).
Exit codes: 0 ok, 1 failure, 2 bad usage or configuration, 3 not found.`;

class UsageError extends Error {}

type Options = Record<string, string | boolean | undefined>;

function need(opts: Options, name: string): string {
  const v = opts[name];
  if (typeof v !== 'string' || !v) throw new UsageError(`--${name} is required`);
  return v;
}

function out(json: boolean, value: unknown, text: string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      pipeline: { type: 'string' },
      commit: { type: 'string' },
      'output-commit': { type: 'string' },
      repo: { type: 'string' },
      branch: { type: 'string' },
      project: { type: 'string' },
      dest: { type: 'string' },
      model: { type: 'string' },
      step: { type: 'string' },
      query: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  const json = !!values.json;
  if (values.help || !command) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }

  if (command === 'put') {
    if (rest.length === 0) throw new UsageError('put needs at least one PATH');
    const pachdUrl = process.env.PACHD_URL || 'http://localhost:1659';
    const files: Record<string, string> = {};
    for (const p of rest) collectFiles(p, values.dest ?? '/', files);
    const commit = await putFiles({
      url: pachdUrl,
      token: process.env.PACHD_TOKEN,
      project: values.project ?? 'default',
      repo: need(values, 'repo'),
      branch: values.branch ?? 'master',
      files,
    });
    out(json, { commit, files: Object.keys(files).length }, `committed ${Object.keys(files).length} files as ${commit}`);
    return 0;
  }

  // Bad usage and bad configuration are reported before anything is contacted.
  const needsConfig = ['trigger', 'deploy', 'pause', 'resume', 'watch'].includes(command);
  if (!needsConfig && !['status', 'list', 'cancel'].includes(command)) throw new UsageError(`unknown command "${command}" (see --help)`);
  const configured = needsConfig ? loadPipelinesConfig(need(values, 'config')) : [];
  const pipelines = () => configured;
  if (['trigger', 'deploy', 'pause', 'resume'].includes(command)) {
    findPipeline(configured, need(values, 'pipeline'));
    if (command === 'trigger') need(values, 'commit');
    if (command === 'deploy') need(values, 'output-commit');
  }
  if (['status', 'cancel'].includes(command) && !rest[0]) throw new UsageError(`${command} needs a WORKFLOW_ID`);
  const temporal = await connectTemporal();
  try {
    const { client, config } = temporal;
    switch (command) {
      case 'trigger': {
        const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
        const workflowId = await signalNewCommit(client, config.taskQueue, pipeline, need(values, 'commit'));
        out(json, { workflowId }, `signalled ${workflowId} with commit ${values.commit}`);
        return 0;
      }
      case 'deploy': {
        const pipeline = findPipeline(pipelines(), need(values, 'pipeline'));
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
        // Ready when Temporal answers and every stream is open (or waits for its repo to be created).
        const streams = new Map<string, StreamState>();
        const healthAddress = process.env.CT_HEALTH_ADDRESS;
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
            pachd: { url: process.env.PACHD_URL || 'http://localhost:1659', token: process.env.PACHD_TOKEN },
            signal: abort.signal,
            log: (event, fields) => console.error(JSON.stringify({ ts: new Date().toISOString(), event, ...fields })),
            onStream: (stream, state) => streams.set(stream, state),
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

/** Files under `p` (a file or a directory), keyed by their Pachyderm path under `dest`. */
function collectFiles(p: string, dest: string, files: Record<string, string>): void {
  const stat = fs.statSync(p, { throwIfNoEntry: false });
  if (!stat) throw new UsageError(`no such file or directory: ${p}`);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(p)) collectFiles(path.join(p, entry), path.posix.join(dest, path.basename(p)), files);
  } else {
    files[path.posix.join(dest, path.basename(p))] = path.resolve(p);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`error: ${message.split('\n')[0]}`);
    const badArgs = (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ?? false;
    if (err instanceof UsageError || err instanceof PipelinesConfigError || err instanceof UnknownPipelineError || badArgs) process.exit(2);
    if (err instanceof WorkflowNotFoundError) process.exit(3);
    process.exit(1);
  },
);
