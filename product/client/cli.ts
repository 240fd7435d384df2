#!/usr/bin/env node
// `ct`: the command line of the product (`ct --help`; from a clone: `npm run ct -- --help`).
// Exit codes: 0 success, 1 failure (a run failed, a system is unreachable), 2 bad usage or config,
// 3 not found. Errors are one line on stderr; --json prints machine-readable results on stdout.
// Only what a command needs is loaded: `ct --help` loads no Temporal or HTTP client (bench/cli-startup.ts).
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { NotFoundError, UsageError, need, out, type Options } from './cli-support';
import type { PipelineSpec } from '../common/pipeline';
import { checkExcludePatterns } from '../common/path-filter';
import { OPTIONS, commandHelp, isCommand, globalHelp, nearestOption, optionsOf, type OptionName } from './cli-usage';
import type { FileSource } from './put-files';
import { writeLog } from '../worker/json-log';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv);
  const [command, ...rest] = positionals;
  const json = !!values.json;
  if (values.version) {
    console.log(version());
    return 0;
  }
  if (command === 'help' && isCommand(rest[0])) {
    console.log(commandHelp(rest[0]));
    return 0;
  }
  if (values.help || !command || command === 'help') {
    console.log(isCommand(command) ? commandHelp(command) : globalHelp());
    return values.help || command === 'help' ? 0 : 2;
  }
  if (!isCommand(command)) throw new UsageError(`unknown command "${command}" (see ct --help)`);
  for (const name of Object.keys(values)) {
    if (!optionsOf(command).includes(name as OptionName)) throw new UsageError(`ct ${command} does not take --${name} (see ct ${command} --help)`);
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
  const configured = ['trigger', 'retry', 'rebase', 'deploy', 'pause', 'resume', 'watch', 'apply'].includes(command)
    ? await checkedConfig(command, values)
    : [];
  if (['status', 'cancel'].includes(command) && !rest[0]) throw new UsageError(`${command} needs a WORKFLOW_ID`);
  // Node 22.1+ keeps V8's compiled code of the modules loaded from here on (the Temporal client is most of
  // the start-up of the commands that use it) in a cache on disk; older Node has no such switch.
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  if (command === 'status' && !values.follow) {
    const { showStatus } = await import('./status-command');
    return showStatus(rest[0], values);
  }
  const { runTemporalCommand } = await import('./temporal-commands');
  return runTemporalCommand(command, rest, values, configured);
}

/**
 * The options and positionals; an unknown option is named, with the nearest one the command takes
 * (Node's own message would talk about positional arguments).
 */
function parseOptions(argv: string[]) {
  const { tokens, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option' || Object.hasOwn(OPTIONS, token.name)) continue;
    const command = isCommand(positionals[0]) ? positionals[0] : undefined;
    const near = nearestOption(token.name, optionsOf(command));
    throw new UsageError(`unknown option ${token.rawName}${near ? ` (did you mean --${near}?)` : ''}${command ? ` (see ct ${command} --help)` : ''}`);
  }
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
}

/** The pipelines file of a command that needs one, and the options that name a pipeline, checked. */
async function checkedConfig(command: string, values: Options): Promise<PipelineSpec[]> {
  // Loaded only here: `ct --help` and the commands without a pipelines file do not parse YAML.
  const { loadPipelinesConfig, findPipeline } = await import('./pipelines-config');
  const configured = loadPipelinesConfig(need(values, 'config'));
  if (command === 'watch' || command === 'apply') return configured;
  findPipeline(configured, need(values, 'pipeline'));
  if (command === 'trigger' || command === 'retry') need(values, 'commit');
  if (command === 'deploy') need(values, 'output-commit');
  if (command === 'rebase' && !values.clear) need(values, 'commit');
  if (command === 'rebase' && values.clear && (values.commit || values.exclude)) throw new UsageError('rebase --clear takes no --commit or --exclude');
  const problem = values.exclude ? checkExcludePatterns(values.exclude) : null;
  if (problem) throw new UsageError(problem);
  return configured;
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
    if (err instanceof UsageError || badArgs) process.exit(2); // configuration errors are UsageErrors too
    if (err instanceof NotFoundError) process.exit(3);
    process.exit(1);
  },
);
