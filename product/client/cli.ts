#!/usr/bin/env node
// `ct`: the command line of the product (`ct --help`; from a clone: `npm run ct -- --help`).
// Exit codes: 0 success, 1 failure (a run failed, a system is unreachable), 2 bad usage or config,
// 3 not found. Errors are one line on stderr; --json prints machine-readable results on stdout.
// Only what a command needs is loaded: `ct --help` loads no Temporal or HTTP client (bench/cli-startup.ts).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipelinesConfig, findPipeline, PipelinesConfigError, UnknownPipelineError } from './pipelines-config';
import { NotFoundError, UsageError, need, out } from './cli-support';
import type { FileSource } from './put-files';
import { writeLog } from '../worker/json-log';

const HELP = `ct — continuous training on Temporal

Usage: ct <command> [options]

Commands:
  trigger  --config F --pipeline P --commit ID   train pipeline P on input commit ID; prints the answer
                                                 (accepted at position N, already queued, already trained
                                                 by WORKFLOW_ID, rejected: REASON); exit 1 when rejected
  retry    --config F --pipeline P --commit ID   train again a commit whose training failed, timed out or
                                                 was cancelled, with a new experiment (= trigger --retry)
  deploy   --config F --pipeline P --output-commit ID
                                                 deploy (or roll back to) the model of an output commit
  apply    --config F                            send the file's pipeline specs to the running workflows
                                                 (applied between runs) and stop those no longer in it
  watch    --config F                            follow the input and output repos and signal the workflows
  status   WORKFLOW_ID                           a run's current step, steps and result (the status query)
  list     [--pipeline P] [--repo R] [--commit C] [--model M] [--step S] [--query Q] [--limit N]
                                                 list runs by search attributes
  cancel   WORKFLOW_ID                           cancel a run (a training kills its experiment, a rollout
                                                 rolls back; the pipeline goes on); cancelling a ct-repo-…
                                                 or ct-deployer-… workflow stops the pipeline
  pause    --config F --pipeline P [--deployment]
                                                 stop starting trainings (with --deployment: rollouts)
                                                 for new commits (they queue)
  resume   --config F --pipeline P [--deployment]
                                                 start them again
  put      --repo R [--branch B] [--project P] [--dest DIR] PATH...
                                                 commit files into Pachyderm (PACHD_URL, PACHD_TOKEN) as one commit

Options: --json (machine-readable output), --help, --version.
Temporal connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, CT_TASK_QUEUE, TEMPORAL_TLS_*, TEMPORAL_API_KEY,
or an envconfig profile: TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE. watch: CT_HEALTH_ADDRESS (/healthz, /readyz).
Exit codes: 0 ok, 1 failure, 2 bad usage or configuration, 3 not found.`;

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
      retry: { type: 'boolean' },
      deployment: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
  const [command, ...rest] = positionals;
  const json = !!values.json;
  if (values.version) {
    console.log(version());
    return 0;
  }
  if (values.help || !command) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }

  if (command === 'put') {
    if (rest.length === 0) throw new UsageError('put needs at least one PATH');
    const files: Record<string, FileSource> = {};
    for (const p of rest) collectFiles(p, values.dest ?? '/', files);
    const [{ putFiles }, { connectPachd }] = await Promise.all([import('./put-files'), import('./connect-pachd')]);
    const commit = await putFiles(connectPachd(), {
      project: values.project ?? 'default',
      repo: need(values, 'repo'),
      branch: values.branch ?? 'master',
      files,
    });
    out(json, { commit, files: Object.keys(files).length }, `committed ${Object.keys(files).length} files as ${commit}`);
    return 0;
  }

  // Bad usage and bad configuration are reported before anything is contacted.
  const needsConfig = ['trigger', 'retry', 'deploy', 'pause', 'resume', 'watch', 'apply'].includes(command);
  if (!needsConfig && !['status', 'list', 'cancel'].includes(command)) throw new UsageError(`unknown command "${command}" (see --help)`);
  const configured = needsConfig ? loadPipelinesConfig(need(values, 'config')) : [];
  if (['trigger', 'retry', 'deploy', 'pause', 'resume'].includes(command)) {
    findPipeline(configured, need(values, 'pipeline'));
    if (command === 'trigger' || command === 'retry') need(values, 'commit');
    if (command === 'deploy') need(values, 'output-commit');
  }
  if (['status', 'cancel'].includes(command) && !rest[0]) throw new UsageError(`${command} needs a WORKFLOW_ID`);
  const { runTemporalCommand } = await import('./temporal-commands');
  return runTemporalCommand(command, rest, values, configured);
}

/** The product's version, from its package.json (beside the sources, or above build/ when compiled). */
function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    const file = path.join(__dirname, rel);
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

/** Files under `p` (a file or a directory), keyed by their Pachyderm path under `dest`. */
function collectFiles(p: string, dest: string, files: Record<string, FileSource>): void {
  const stat = fs.statSync(p, { throwIfNoEntry: false });
  if (!stat) throw new UsageError(`no such file or directory: ${p}`);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(p)) collectFiles(path.join(p, entry), path.posix.join(dest, path.basename(p)), files);
  } else {
    files[path.posix.join(dest, path.basename(p))] = { localPath: path.resolve(p) };
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    // With --json, stderr carries the log schema of the worker and the watcher too (worker/json-log.ts).
    if (process.argv.includes('--json')) writeLog('error', message.split('\n')[0], { command: process.argv[2] });
    else console.error(`error: ${message.split('\n')[0]}`);
    // Node's argument errors carry a string code; failures of the systems may carry numbers (gRPC codes).
    const code = (err as { code?: unknown }).code;
    const badArgs = typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
    if (err instanceof UsageError || err instanceof PipelinesConfigError || err instanceof UnknownPipelineError || badArgs) process.exit(2);
    if (err instanceof NotFoundError) process.exit(3);
    process.exit(1);
  },
);
