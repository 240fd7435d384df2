// The commands of `ct`, their options and usage (`ct --help`, `ct <command> --help`), and the check of the
// options given: an unknown one is named with the nearest known one. No imports: `ct --help` stays fast.

export const OPTIONS = {
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
  exclude: { type: 'string', multiple: true },
  base: { type: 'string' },
  clear: { type: 'boolean' },
  wait: { type: 'boolean' },
  follow: { type: 'boolean' },
  deployment: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

export type OptionName = keyof typeof OPTIONS;

interface CommandUsage {
  synopsis: string;
  summary: string;
  /** The options it takes besides --json, --no-color and --help. */
  options: OptionName[];
  details?: string;
}

export const COMMANDS: Record<string, CommandUsage> = {
  trigger: {
    synopsis: 'trigger --config F --pipeline P --commit ID [--retry] [--wait]',
    summary: 'train pipeline P on input commit ID',
    options: ['config', 'pipeline', 'commit', 'retry', 'wait'],
    details:
      'Prints the answer (accepted at position N, already queued, already trained by WORKFLOW_ID, rejected:\n' +
      "REASON) and the training run's workflow id; exit 1 when rejected. --retry: as `ct retry`. --wait: follow\n" +
      'the training live (current step, experiment state and progress, elapsed time) until it ends, then print\n' +
      'its UI link; exit 1 when it does not complete.',
  },
  retry: {
    synopsis: 'retry --config F --pipeline P --commit ID [--exclude GLOB]... [--base ID] [--wait]',
    summary: 'train again a commit whose training failed, timed out or was cancelled, with a new experiment',
    options: ['config', 'pipeline', 'commit', 'exclude', 'base', 'wait'],
    details:
      '--exclude: leave out the paths matching GLOB (`*`, `?` within a path segment, `**` across; a directory\n' +
      'for all under it). --base: diff against commit ID instead of the one the latest model was trained on.\n' +
      'Both hold for the next trainings until one registers a model (see ct rebase).',
  },
  rebase: {
    synopsis: 'rebase --config F --pipeline P (--commit BASE [--exclude GLOB]... | --clear)',
    summary: 'make the next trainings diff against BASE (what came before it is not trained on), until one registers a model',
    options: ['config', 'pipeline', 'commit', 'exclude', 'clear'],
    details:
      'The way out when a commit blocks the pipeline (README, "Unblocking a pipeline"). BASE must be on the\n' +
      "pipeline's branch. --clear drops the override. `ct status ct-repo-…` shows it.",
  },
  deploy: {
    synopsis: 'deploy --config F --pipeline P --output-commit ID',
    summary: 'deploy (or roll back to) the model of an output commit',
    options: ['config', 'pipeline', 'output-commit'],
  },
  apply: {
    synopsis: 'apply --config F',
    summary: "send the file's pipeline specs to the running workflows (applied between runs) and stop those no longer in it",
    options: ['config'],
  },
  watch: {
    synopsis: 'watch --config F',
    summary: 'follow the input and output repos and signal the workflows',
    options: ['config'],
    details: 'CT_HEALTH_ADDRESS (e.g. 0.0.0.0:8080) serves /healthz and /readyz.',
  },
  status: {
    synopsis: 'status WORKFLOW_ID [--follow]',
    summary: "a run's steps (as the demo shows them), current step, result and UI link",
    options: ['follow'],
    details:
      '--follow: show live progress (current step, experiment state and progress, elapsed time) until the run\n' +
      'ends; exit 1 when it does not complete. --json: the status query as JSON.',
  },
  list: {
    synopsis: 'list [--pipeline P] [--repo R] [--commit C] [--model M] [--step S] [--query Q] [--limit N]',
    summary: 'list runs (newest first) by search attributes, as a table',
    options: ['pipeline', 'repo', 'commit', 'model', 'step', 'query', 'limit'],
    details: "--query: a Temporal visibility query, ANDed with the others (e.g. \"ExecutionStatus = 'Failed'\"). --limit: default 50.",
  },
  cancel: {
    synopsis: 'cancel WORKFLOW_ID',
    summary:
      'cancel a run (a training kills its experiment, a rollout rolls back; the pipeline goes on); cancelling a\n' +
      'ct-repo-… or ct-deployer-… workflow stops the pipeline',
    options: [],
  },
  pause: {
    synopsis: 'pause --config F --pipeline P [--deployment]',
    summary: 'stop starting trainings (with --deployment: rollouts) for new commits (they queue)',
    options: ['config', 'pipeline', 'deployment'],
  },
  resume: {
    synopsis: 'resume --config F --pipeline P [--deployment]',
    summary: 'start them again',
    options: ['config', 'pipeline', 'deployment'],
  },
  put: {
    synopsis: 'put --repo R [--branch B] [--project P] [--dest DIR] PATH...',
    summary: 'commit files into Pachyderm (PACHD_URL, PACHD_TOKEN) as one commit',
    options: ['repo', 'branch', 'project', 'dest'],
  },
};

export function isCommand(name: string | undefined): name is string {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

const COMMON: OptionName[] = ['json', 'no-color', 'help'];

const ENVIRONMENT = `Temporal connection: a profile of the Temporal CLI's config file (TEMPORAL_CONFIG_FILE, default
~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE) and Temporal's variables: TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH,
TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_NAME; CT_TASK_QUEUE; CT_UI_URL (the Temporal UI, for links).
Colour on a terminal unless NO_COLOR is set or --no-color is given.
Exit codes: 0 ok, 1 failure, 2 bad usage or configuration, 3 not found.`;

export function globalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const commands = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary.split('\n').join(' ')}`);
  return `ct — continuous training on Temporal

Usage: ct <command> [options]      ct <command> --help: that command's usage

Commands:
${commands.join('\n')}

Options: --json (machine-readable output), --no-color, --help, --version.
${ENVIRONMENT}`;
}

export function commandHelp(command: string): string {
  const c = COMMANDS[command];
  return [`Usage: ct ${c.synopsis} [--json] [--no-color]`, '', c.summary, ...(c.details ? ['', c.details] : []), '', ENVIRONMENT].join('\n');
}

/** The options `command` takes (all of them when there is no command yet). */
export function optionsOf(command: string | undefined): OptionName[] {
  const c = isCommand(command) ? COMMANDS[command] : undefined;
  return c ? [...c.options, ...COMMON] : (Object.keys(OPTIONS) as OptionName[]);
}

/** `--pipline` → `pipeline`; `--colour` → `no-color`; undefined when nothing is near. */
export function nearestOption(name: string, candidates: readonly string[]): string | undefined {
  let best: { option: string; distance: number } | undefined;
  for (const option of candidates) {
    const distance = Math.min(editDistance(name, option), editDistance(name, option.replace(/^no-/, '')));
    if (!best || distance < best.distance) best = { option, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.option : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}
