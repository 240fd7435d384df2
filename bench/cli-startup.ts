// `ct` start-up: the installed command (the compiled product on plain node, as `npm install -g` gives it)
// against bare `node -e 0`, measured in the same run. `ct --help` and `ct --version` load no Temporal or
// HTTP client; `ct status` connects to a running dev server and asks a finished (failed) training run for its
// status (describe + the status query, answered by the real worker, then the close event), without the SDK.
// For reference: the same read through the SDK, the SDK's load alone, and the commands through tsx from the
// TypeScript sources (how `ct` ran before it was built).
//   npx tsx bench/cli-startup.ts [runs=9]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { trainingWorkflow } from 'continuous-training/workflows';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import {
  benchPipeline,
  fmt,
  loadAverage,
  machine,
  machineLine,
  median,
  runMain,
  startBenchEnv,
  startWorkerChild,
  workerEnv,
  writeSection,
} from './lib/harness';

const runs = Number(process.argv[2] ?? 9);
const cli = path.join(projectRoot, 'product', 'build', 'client', 'cli.js');
const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
const cliSource = path.join(projectRoot, 'product', 'client', 'cli.ts');

/** Median wall time of `runs` runs of a command (after one warm-up run), in ms; fails unless it exits `exitCode`. */
function timeIt(command: string[], env: NodeJS.ProcessEnv = process.env, exitCode = 0): number {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(command[0], command.slice(1), { env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== exitCode) throw new Error(`${command.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i > 0) times.push(ms);
  }
  return median(times);
}

runMain(async () => {
  const m = machine();
  const loadBefore = loadAverage();
  if (!fs.existsSync(cli)) {
    console.log('building the product (npm run build -w continuous-training)');
    execFileSync('npm', ['run', 'build', '-w', 'continuous-training'], { cwd: projectRoot, stdio: 'inherit' });
  }
  const env = await startBenchEnv({ name: 'cli' });
  try {
    const taskQueue = 'bench-cli';
    const worker = await startWorkerChild(workerEnv(env.stack.connections, env.dev.address, taskQueue), true);
    env.onClose(() => worker.stop());
    // A finished run to ask about: a training of a commit that does not exist fails at once.
    const workflowId = 'bench-cli-status';
    const pipeline = benchPipeline(env.stack, 'bench-cli');
    await env.client.workflow
      .execute(trainingWorkflow, { taskQueue, workflowId, args: [{ pipeline, commit: '0'.repeat(32) }] })
      .catch(() => undefined);
    const ctEnv = { ...process.env, TEMPORAL_ADDRESS: env.dev.address, CT_TASK_QUEUE: taskQueue };

    const bare = timeIt([process.execPath, '-e', '0']);
    const rows = [
      { what: '`ct --help`', ms: timeIt([process.execPath, cli, '--help']), target: 2 },
      { what: '`ct --version`', ms: timeIt([process.execPath, cli, '--version']), target: 2 },
      { what: '`ct status <id>` (dev server, real worker)', ms: timeIt([process.execPath, cli, 'status', workflowId], ctEnv), target: 4 },
      // The same read through the SDK, as ct status made it before (and --follow still does: of a finished
      // run it reads once and exits).
      { what: '`ct status <id> --follow` (the same read through the Temporal SDK)', ms: timeIt([process.execPath, cli, 'status', workflowId, '--follow'], ctEnv, 1), target: undefined },
      // The floor under any command that talks to Temporal through the SDK: it builds its protobuf reflection
      // of the whole Temporal API when it loads.
      { what: "`node -e \"require('@temporalio/client')\"` (the SDK's load alone)", ms: timeIt([process.execPath, '-e', "require('@temporalio/client')"], { ...process.env, NODE_PATH: path.join(projectRoot, 'node_modules') }), target: undefined },
      { what: '`tsx client/cli.ts --help` (the sources through tsx, as `ct` ran before it was built)', ms: timeIt([tsx, cliSource, '--help']), target: undefined },
      { what: '`tsx client/cli.ts status <id>` (the same, through tsx)', ms: timeIt([tsx, cliSource, 'status', workflowId], ctEnv), target: undefined },
    ];
    const lines = rows.map(
      (r) =>
        `| ${r.what} | ${fmt(r.ms)} | ${fmt(r.ms / bare, 2)}× | ${r.target ? `within ${r.target}× (${r.ms / bare <= r.target ? 'met' : 'NOT met'})` : '—'} |`,
    );
    const markdown = [
      '## CLI start-up (`bench/cli-startup.ts`)',
      '',
      machineLine(m, loadBefore, loadAverage()),
      '',
      `Median wall time of ${runs} runs each (after a warm-up run); baseline \`node -e 0\`: **${fmt(bare)} ms**.`,
      '',
      '| command | ms | ratio to `node -e 0` | target |',
      '|---|---|---|---|',
      ...lines,
      '',
      'The Temporal SDK alone takes longer to load than the 4× target allows (it builds the protobuf reflection of the whole',
      "Temporal API as it loads; Node 22's compile cache, enabled by `ct`, saves the parse, not that work). So `ct status`",
      'does not load it: it makes its calls itself over HTTP/2 (client/grpc-wire.ts: the describe and the status query at once,',
      'then the close event of a failed run, as here). The finished run asked about failed: its status query makes the worker',
      `replay its history. \`ct status\` takes ${fmt(rows[2].ms - bare)} ms beyond node's start, the same read through the SDK ${fmt(rows[3].ms - bare)} ms.`,
    ].join('\n');
    console.log(markdown);
    writeSection('cli-startup', markdown);
  } finally {
    await env.close();
  }
});
