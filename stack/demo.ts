// The main command (`npm run demo`): the whole product on a laptop. It starts the Temporal dev server
// (with its UI; `--temporal cluster`: the real Temporal server on PostgreSQL, stack/temporal-cluster.ts), the Pachyderm, Determined and Seldon Deploy emulators, the worker and the commit
// watcher; then commits two batches of data and follows each through training, registration,
// publishing, deployment and a prediction. State persists in .state/demo; Ctrl-C stops everything.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from './scripts/dev-server';
import { TEMPORAL_SERVER_VERSION, clusterUnavailableReason, startTemporalCluster } from './temporal-cluster';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { startLocalStack, type LocalStack } from './local-stack';
import { demoPipeline } from './demo-pipeline';
import { demoBatch, demoProbe, predict } from './demo-data';
import { runWatcher } from 'continuous-training/client/watcher';
import { createWorker } from 'continuous-training/worker/create-worker';
import { putFiles } from 'continuous-training/client/put-files';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { TASK_QUEUE, deploymentWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import type { TrainingResult } from 'continuous-training/workflows/training';
import type { DeploymentResult } from 'continuous-training/workflows/deployment';
import { colourEnabled, formatDuration, makeStyle, table } from 'continuous-training/client/render';
import { elapsed, followRun, type RunView } from 'continuous-training/client/run-view';
import { sdkRunReader } from 'continuous-training/client/sdk-run-reader';

const { values: args } = parseArgs({
  options: {
    'state-dir': { type: 'string' },
    pachyderm: { type: 'string', default: 'emulator' },
    temporal: { type: 'string', default: 'dev' },
    exit: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(`npm run demo [-- --exit] [-- --state-dir DIR] [-- --pachyderm emulator|real] [-- --temporal dev|cluster]
  Runs the whole product locally and keeps it running until Ctrl-C (--exit: stop when done).
  --temporal cluster: the real Temporal server v1.32.2 on PostgreSQL (4 history shards, one process per
  service, the web UI server) instead of the dev server; needs the one-time build
  (bash scripts/temporal-cluster.sh build) and PostgreSQL; state then defaults to .state/demo-cluster.
  --pachyderm real: Pachyderm's own pachd instead of the emulator (needs Go and PostgreSQL:
  bash scripts/real-pachd.sh check; state then defaults to .state/demo-real-pachd).
  Ports: Temporal 7233, UI 8233, pachd 1659, Determined 8080, Seldon Deploy 8003
  (override with CT_DEMO_TEMPORAL_PORT, CT_DEMO_UI_PORT, CT_DEMO_PACHD_PORT, CT_DEMO_DET_PORT, CT_DEMO_SELDON_PORT).`);
  process.exit(0);
}

if (args.pachyderm !== 'emulator' && args.pachyderm !== 'real') {
  console.error(`--pachyderm must be emulator or real, not ${args.pachyderm}`);
  process.exit(2);
}
const pachyderm: 'emulator' | 'real' = args.pachyderm;
if (args.temporal !== 'dev' && args.temporal !== 'cluster') {
  console.error(`--temporal must be dev or cluster, not ${args.temporal}`);
  process.exit(2);
}
const temporalKind: 'dev' | 'cluster' = args.temporal;
const defaultStateName = ['demo', ...(pachyderm === 'real' ? ['real-pachd'] : []), ...(temporalKind === 'cluster' ? ['cluster'] : [])].join('-');
const stateDir = path.resolve(args['state-dir'] ?? path.join(projectRoot, '.state', defaultStateName));
const PORTS = {
  temporal: { variable: 'CT_DEMO_TEMPORAL_PORT', default: 7233, what: 'Temporal dev server' },
  ui: { variable: 'CT_DEMO_UI_PORT', default: 8233, what: 'Temporal UI' },
  pachd: { variable: 'CT_DEMO_PACHD_PORT', default: 1659, what: 'pachd' },
  determined: { variable: 'CT_DEMO_DET_PORT', default: 8080, what: 'Determined' },
  seldon: { variable: 'CT_DEMO_SELDON_PORT', default: 8003, what: 'Seldon Deploy' },
} as const;
type PortName = keyof typeof PORTS;
const port = (name: PortName) => Number(process.env[PORTS[name].variable] || PORTS[name].default);
const say = (line: string) => console.log(line);
// The step lines and colours of `ct status` (NO_COLOR and a non-terminal turn colour off).
const style = makeStyle(colourEnabled(process.stdout));
const { dim, bold } = style;

async function main(): Promise<void> {
  fs.mkdirSync(stateDir, { recursive: true });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const cleanups: (() => Promise<void>)[] = [];
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    say(dim('stopping…'));
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(`cleanup: ${(err as Error).message}`));
  };
  const interrupted = new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });

  try {
    say(bold('Continuous training demo') + dim(`  (state in ${path.relative(process.cwd(), stateDir) || stateDir})`));
    await checkPortsFree();
    const dev = await startTemporal();
    cleanups.push(() => dev.stop());

    const stack: LocalStack = await startLocalStack({
      stateDir,
      ports: { pachd: port('pachd'), determined: port('determined'), seldon: port('seldon') },
      log: fs.createWriteStream(path.join(stateDir, 'emulators.log'), { flags: 'a' }),
      pachyderm,
    });
    cleanups.push(() => stack.close());
    const pachdKind = stack.pachd.kind === 'real' ? 'real Pachyderm pachd' : 'Pachyderm emulator';
    say(`✔ ${pachdKind} ${stack.pachd.url}; emulators: Determined ${stack.determined.url}, Seldon Deploy ${stack.seldon.url}`);

    const nativeConnection = await NativeConnection.connect({ address: dev.address });
    cleanups.push(() => nativeConnection.close());
    const worker = await createWorker({ connection: nativeConnection, namespace: 'default', taskQueue: TASK_QUEUE, connections: stack.connections });
    const workerRun = worker.run();
    cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
    });
    const connection = await Connection.connect({ address: dev.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    say(`✔ worker polling task queue "${TASK_QUEUE}"`);

    const pipeline = demoPipeline(stack.experimentRepo);
    const abort = new AbortController();
    const watching = runWatcher({
      client,
      taskQueue: TASK_QUEUE,
      pipelines: [pipeline],
      pachd: new PachydermClient(stack.connections),
      signal: abort.signal,
      log: (event, fields) => {
        // The output repo appears with the first published model; until then the watcher just retries.
        // Stopping ends its streams: that is no error to report.
        if (event === 'watch.error' && !abort.signal.aborted && !/not found/.test(String(fields.error))) say(dim(`  watcher: ${String(fields.error)} (retrying)`));
      },
    });
    cleanups.push(async () => {
      abort.abort();
      await watching;
    });
    say(`✔ watcher following ${pipeline.input.repo}@${pipeline.input.branch} (training) and ${pipeline.output.repo}@${pipeline.output.branch} (deployment)`);

    const link = (workflowId: string) => `${dev.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;
    const committed = loadCommitted();
    const summary: SummaryRow[] = [];
    const probe = demoProbe('triangle');
    for (const batch of [1, 2] as const) {
      say('');
      let commit = committed[batch];
      if (commit) {
        say(bold(`Batch ${batch}`) + ` already committed as ${commit} in an earlier run`);
      } else {
        const files = demoBatch(batch);
        commit = await putFiles(new PachydermClient(stack.connections), {
          repo: pipeline.input.repo,
          branch: pipeline.input.branch,
          files,
          description: `demo batch ${batch}`,
          createRepo: true,
        });
        committed[batch] = commit;
        saveCommitted(committed);
        say(bold(`Batch ${batch}`) + `: committed ${Object.keys(files).length} files to ${pipeline.input.repo}@${pipeline.input.branch} as ${commit}`);
      }
      const trainingId = trainingWorkflowId(pipeline.modelName, commit);
      say(`  training run: ${link(trainingId)}`);
      const trainingRun = await follow(client, trainingId, 'waiting for the watcher to start the training');
      const training = (await client.workflow.getHandle(trainingId).result()) as TrainingResult;
      const row: SummaryRow = { batch, commit, training: trainingRun };
      summary.push(row);
      if (training.status !== 'trained') {
        say(`  training skipped: ${training.reason}`);
        continue;
      }
      row.trained = training;
      const deployId = deploymentWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name, training.outputCommit);
      say(`  deployment run: ${link(deployId)}`);
      row.deployment = await follow(client, deployId, 'waiting for the watcher to start the deployment');
      const deployed = (await client.workflow.getHandle(deployId).result()) as DeploymentResult;
      row.deployed = deployed.status;
      if (deployed.status !== 'deployed') throw new Error(`deployment of batch ${batch} did not succeed: ${JSON.stringify(deployed)}`);
      const answer = await predict(stack.seldon.url, pipeline.deployment.namespace, pipeline.deployment.name, probe);
      const probs = Object.entries(answer.probabilities).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      row.prediction = `${answer.label} (v${answer.registryVersion})`;
      say(`  ✔ prediction for a triangle image from model version ${answer.registryVersion}: ${bold(answer.label)} (${probs})`);
    }

    say('');
    say(summaryTable(summary));

    say('');
    say(`Done. Runs in the Temporal UI: ${dev.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`CtPipeline="${pipeline.name}"`)}`);
    say(
      `Predict yourself: .venv/bin/python experiments/shapes/make_dataset.py --probe square | curl -s -X POST ` +
        `${stack.seldon.url}/seldon/${pipeline.deployment.namespace}/${pipeline.deployment.name}/api/v1.0/predictions -H 'content-type: application/json' -d @-`,
    );
    if (!args.exit) {
      say(dim('Everything keeps running; Ctrl-C stops it all.'));
      await interrupted;
    }
  } finally {
    await stopAll();
  }
}

/** Follows a run as `ct trigger --wait` does (steps, then live progress: step, experiment, elapsed time). */
function follow(client: Client, workflowId: string, waitingFor: string): Promise<RunView> {
  return followRun(sdkRunReader(client), {
    style,
    tty: !!process.stdout.isTTY,
    write: (text) => process.stdout.write(text),
    link: () => null, // printed before following
    target: async () => ({ workflowId }),
    waitingFor,
  });
}

interface SummaryRow {
  batch: number;
  commit: string;
  training: RunView;
  trained?: Extract<TrainingResult, { status: 'trained' }>;
  deployment?: RunView;
  /** The deployment run's result: deployed, rolled-back, skipped. */
  deployed?: string;
  prediction?: string;
}

/** What each batch became, and how long each stage took. */
function summaryTable(rows: SummaryRow[]): string {
  const short = (id: string) => (id.length > 12 ? `${id.slice(0, 12)}…` : id);
  return table(
    ['batch', 'commit', 'experiment', 'version', 'output commit', 'deployment', 'prediction', 'training', 'deployment time'],
    rows.map((r) => [
      String(r.batch),
      short(r.commit),
      r.trained ? String(r.trained.experimentId) : '—',
      r.trained ? String(r.trained.modelVersion.version) : 'skipped',
      r.trained ? short(r.trained.outputCommit) : '—',
      r.deployed ?? '—',
      r.prediction ?? '—',
      formatDuration(elapsed(r.training)),
      r.deployment ? formatDuration(elapsed(r.deployment)) : '—',
    ]),
    style,
  );
}

/** Every port the demo listens on must be free; a taken one is named with the variable that moves it. */
async function checkPortsFree(): Promise<void> {
  for (const name of Object.keys(PORTS) as PortName[]) {
    const p = port(name);
    const taken = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(true));
      server.listen(p, '127.0.0.1', () => server.close(() => resolve(false)));
    });
    if (taken) {
      throw new Error(`port ${p} (${PORTS[name].what}) is taken: stop what uses it, or set ${PORTS[name].variable} to a free port`);
    }
  }
}

/** The dev server (default) or the cluster stack, with its UI; says which and where. */
async function startTemporal(): Promise<{ address: string; uiUrl: string; stop(): Promise<void> }> {
  const ports = { frontend: port('temporal'), ui: port('ui') };
  if (temporalKind === 'cluster') {
    const unavailable = clusterUnavailableReason();
    if (unavailable) throw new Error(unavailable);
    const dir = path.join(stateDir, 'temporal-cluster');
    const fresh = !fs.existsSync(dir);
    say(dim('starting PostgreSQL and the Temporal services (first start: schemas, namespace, search attributes)…'));
    const cluster = await startTemporalCluster({ stateDir: dir, ports });
    say(
      `✔ Temporal ${TEMPORAL_SERVER_VERSION} cluster ${cluster.address} on PostgreSQL :${cluster.postgres.port} ` +
        `(${cluster.historyShards} history shards, ${cluster.services.map((s) => s.name).join('/')} processes) ` +
        `${fresh ? '(new state)' : '(reusing persisted state)'}; UI ${cluster.uiUrl}`,
    );
    return { address: cluster.address, uiUrl: cluster.uiUrl!, stop: () => cluster.close() };
  }
  const fresh = !fs.existsSync(path.join(stateDir, 'temporal.db'));
  const dev = await startDevServer({ dbFile: path.join(stateDir, 'temporal.db'), port: ports.frontend, uiPort: ports.ui, logFile: path.join(stateDir, 'temporal.log') });
  say(`✔ Temporal dev server ${dev.address} ${fresh ? '(new state)' : '(reusing persisted state)'}; UI ${dev.uiUrl}`);
  return dev;
}

function loadCommitted(): Record<number, string> {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'batches.json'), 'utf8')) as Record<number, string>;
  } catch {
    return {};
  }
}

function saveCommitted(committed: Record<number, string>): void {
  fs.writeFileSync(path.join(stateDir, 'batches.json'), JSON.stringify(committed, null, 2));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
