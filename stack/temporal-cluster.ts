// The `cluster` local stack: the real Temporal server (v1.32.2, built by scripts/temporal-cluster.sh) on a
// PostgreSQL of its own, as users self-host it. The schemas come from deploy/temporal/setup-postgres.sh
// (temporal-sql-tool, advanced visibility on PostgreSQL), the server's configuration from
// deploy/temporal/config/temporal-server.yaml (several history shards), the namespace and our search attributes
// from deploy/temporal/setup-namespace.sh: the files docker-compose.yml uses. The four services run as one
// process each by default, so a test can SIGKILL one and start it again; then the web UI server.
// Everything lives in stateDir (postgres/, logs/); close() stops every process it started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { ALL_SEARCH_ATTRIBUTES } from 'continuous-training/common/search-attributes';
import { POSTGRES_MISSING, postgresBinDir, startPostgres, type Postgres } from './postgres';
import { exitOf, freePort, lastLines, sleep } from './processes';

// Keep in step with scripts/temporal-cluster.sh (which writes these into the .version stamps).
export const TEMPORAL_SERVER_VERSION = 'v1.32.2';
export const UI_SERVER_VERSION = 'v2.58.1';
export const DEFAULT_HISTORY_SHARDS = 4;

export const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type ServiceName = (typeof SERVICES)[number];

const PG_USER = 'temporal';
const BIN = path.join(projectRoot, '.cache', 'bin');
const CONFIG_FILE = path.join(projectRoot, 'deploy', 'temporal', 'config', 'temporal-server.yaml');
const DYNAMIC_CONFIG = path.join(projectRoot, 'deploy', 'temporal', 'dynamicconfig', 'development-sql.yaml');
const SETUP_POSTGRES = path.join(projectRoot, 'deploy', 'temporal', 'setup-postgres.sh');
const SETUP_NAMESPACE = path.join(projectRoot, 'deploy', 'temporal', 'setup-namespace.sh');

const TYPE_NAMES: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', TEXT: 'Text', BOOL: 'Bool', DOUBLE: 'Double', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };

/** Our search attributes as setup-namespace.sh takes them ("Name=Type ..."; docker-compose.yml lists the same). */
export const CT_SEARCH_ATTRIBUTES = ALL_SEARCH_ATTRIBUTES.map((key) => `${key.name}=${TYPE_NAMES[key.type]}`).join(' ');

export interface TemporalClusterOptions {
  /** Where PostgreSQL's data and the logs live (kept: a second start reuses the cluster). */
  stateDir: string;
  /** `services` (default): one process per service, each can be killed alone. `single`: all four in one process. */
  layout?: 'services' | 'single';
  /** Fixed when the database is first created. */
  historyShards?: number;
  namespace?: string;
  /** 0 or absent: free ports. */
  ports?: { frontend?: number; ui?: number; postgres?: number };
  /** Start the web UI server (default true). */
  ui?: boolean;
  /** Run setup-namespace.sh (default true); false leaves the namespace and search attributes to the caller. */
  setupNamespace?: boolean;
  /** PostgreSQL settings over the stack's defaults (stack/postgres.ts). */
  postgresSettings?: Record<string, string>;
}

export interface TemporalService {
  name: ServiceName | 'all' | 'ui';
  pid(): number | undefined;
  /** Sends the signal (SIGKILL by default) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same configuration (after kill). */
  start(): Promise<void>;
}

export interface TemporalCluster {
  /** The frontend's gRPC address (host:port). */
  address: string;
  namespace: string;
  uiUrl?: string;
  historyShards: number;
  layout: 'services' | 'single';
  postgres: Postgres;
  /** One entry per process: the four services, or `all`. */
  services: TemporalService[];
  service(name: ServiceName): TemporalService;
  logDir: string;
  /** Runs deploy/temporal/setup-namespace.sh against the cluster (what compose's temporal-setup runs). */
  setupNamespace(namespace: string, searchAttributes?: string): Promise<{ stdout: string; stderr: string; code: number }>;
  close(): Promise<void>;
}

function stampOk(name: string, version: string): boolean {
  try {
    return fs.readFileSync(path.join(BIN, `${name}.version`), 'utf8').trim() === version;
  } catch {
    return false;
  }
}

/** The UI server's stamp: its version and a hash of stack/temporal-ui (scripts/temporal-cluster.sh computes the same). */
function uiStamp(): string {
  const src = path.join(projectRoot, 'stack', 'temporal-ui');
  const hash = crypto.createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) hash.update(fs.readFileSync(path.join(src, f)));
  return `${UI_SERVER_VERSION}-${hash.digest('hex').slice(0, 12)}`;
}

export const temporalBinary = (name: 'temporal-server' | 'temporal-sql-tool' | 'temporal-ui-server') => path.join(BIN, name);

/** Why the cluster stack cannot start here (what to build or install), in one message; undefined when it can. */
export function clusterUnavailableReason(opts: { ui?: boolean } = {}): string | undefined {
  const missing: string[] = [];
  const unbuilt = [
    ['temporal-server', TEMPORAL_SERVER_VERSION],
    ['temporal-sql-tool', TEMPORAL_SERVER_VERSION],
    ...(opts.ui === false ? [] : [['temporal-ui-server', uiStamp()]]),
  ].filter(([name, version]) => !stampOk(name!, version!) || !fs.existsSync(path.join(BIN, name!)));
  if (unbuilt.length) {
    const hasGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
    const names = unbuilt.map(([name, version]) => `${name} ${version}`).join(', ');
    missing.push(
      hasGo
        ? `${names} not built in .cache/bin: run \`bash scripts/temporal-cluster.sh build\` once (about 12 minutes)`
        : `Go, to build ${names} (install Go 1.21 or newer from https://go.dev/dl/, then run \`bash scripts/temporal-cluster.sh build\`)`,
    );
  }
  if (!postgresBinDir()) missing.push(POSTGRES_MISSING);
  return missing.length ? `the Temporal cluster stack cannot start: missing ${missing.join('; ')}` : undefined;
}

interface PortPlan {
  frontend: number;
  frontendHttp: number;
  grpc: Record<Exclude<ServiceName, 'frontend'>, number>;
  membership: Record<ServiceName, number>;
}

/**
 * A free port below 32768: the cluster_membership table keeps the services' ports as SMALLINT, so ports from
 * the kernel's ephemeral range (32768 and up, what freePort gets) stop a service at start.
 */
async function freeLowPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + crypto.randomInt(12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
}

async function planPorts(frontend?: number): Promise<PortPlan> {
  const taken = new Set<number>();
  const free = async () => freeLowPort(taken);
  return {
    frontend: frontend || (await free()),
    frontendHttp: await free(),
    grpc: { history: await free(), matching: await free(), worker: await free() },
    membership: { frontend: await free(), history: await free(), matching: await free(), worker: await free() },
  };
}

function serverEnvironment(pgPort: number, shards: number, ports: PortPlan): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(pgPort),
    POSTGRES_USER: PG_USER,
    POSTGRES_PWD: '',
    NUM_HISTORY_SHARDS: String(shards),
    BIND_ON_IP: '127.0.0.1',
    FRONTEND_GRPC_PORT: String(ports.frontend),
    FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    HISTORY_GRPC_PORT: String(ports.grpc.history),
    MATCHING_GRPC_PORT: String(ports.grpc.matching),
    WORKER_GRPC_PORT: String(ports.grpc.worker),
    FRONTEND_MEMBERSHIP_PORT: String(ports.membership.frontend),
    HISTORY_MEMBERSHIP_PORT: String(ports.membership.history),
    MATCHING_MEMBERSHIP_PORT: String(ports.membership.matching),
    WORKER_MEMBERSHIP_PORT: String(ports.membership.worker),
    DYNAMIC_CONFIG_FILE_PATH: DYNAMIC_CONFIG,
    LOG_LEVEL: process.env.CT_TEMPORAL_LOG_LEVEL ?? 'warn',
  };
}

/** A long-running child we can kill and start again, logging to a file. */
function managedProcess(name: TemporalService['name'], command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): TemporalService {
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  return {
    name,
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    async start() {
      const out = fs.openSync(logFile, 'a');
      child = spawn(command, args, { env, stdio: ['ignore', out, out] });
      fs.closeSync(out);
      exited = exitOf(child, 'SIGKILL');
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const c = child;
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Waits until the frontend answers (`started`), or until the history and matching services answer through it
 * too (`serving`: a namespace list succeeds), failing early with the server's error if a process exits.
 */
async function waitForFrontend(address: string, services: TemporalService[], logDir: string, timeoutMs: number, until: 'started' | 'serving'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const dead = services.find((s) => s.pid() === undefined);
    if (dead) throw new Error(`Temporal ${dead.name} exited at start: ${serverError(path.join(logDir, `${dead.name}.log`))}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await connection.workflowService.getSystemInfo({});
        if (until === 'serving') await connection.workflowService.listNamespaces({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`Temporal's frontend did not answer on ${address} within ${timeoutMs / 1000} s (${lastError}); logs in ${logDir}`);
    await sleep(250);
  }
}

/** The server's own error from its log: the last error/fatal line (JSON logs), else the log's tail. */
export function serverError(logFile: string): string {
  let text = '';
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return `no log at ${logFile}`;
  }
  for (const line of text.trim().split('\n').reverse()) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
      if (entry.level === 'error' || entry.level === 'fatal') return [entry.msg, entry.error].filter(Boolean).join(': ');
    } catch {
      // not JSON: a startup message or a panic, reported below
    }
  }
  return lastLines(text, 3);
}

export async function startTemporalCluster(opts: TemporalClusterOptions): Promise<TemporalCluster> {
  const wantUi = opts.ui !== false;
  const unavailable = clusterUnavailableReason({ ui: wantUi });
  if (unavailable) throw new Error(unavailable);
  const layout = opts.layout ?? 'services';
  const namespace = opts.namespace ?? 'default';
  const logDir = path.join(opts.stateDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    // The shard count is fixed by the database's first start: remember it beside the data.
    const shardsFile = path.join(opts.stateDir, 'history-shards');
    const historyShards = fs.existsSync(shardsFile) ? Number(fs.readFileSync(shardsFile, 'utf8')) : (opts.historyShards ?? DEFAULT_HISTORY_SHARDS);
    if (opts.historyShards && opts.historyShards !== historyShards) {
      throw new Error(`${opts.stateDir} holds a cluster with ${historyShards} history shards; the count cannot change (use another state dir)`);
    }
    const postgres = await startPostgres({
      dataDir: path.join(opts.stateDir, 'postgres'),
      port: opts.ports?.postgres,
      user: PG_USER,
      settings: opts.postgresSettings,
    });
    cleanups.push(() => postgres.stop());

    const schema = await run('sh', [SETUP_POSTGRES], {
      PATH: process.env.PATH,
      TEMPORAL_SQL_TOOL: temporalBinary('temporal-sql-tool'),
      POSTGRES_SEEDS: '127.0.0.1',
      DB_PORT: String(postgres.port),
      POSTGRES_USER: PG_USER,
      SQL_PASSWORD: '',
    });
    fs.writeFileSync(path.join(logDir, 'setup-postgres.log'), schema.stdout + schema.stderr);
    if (schema.code !== 0) throw new Error(`the Temporal schemas could not be set up: ${lastLines(schema.stderr || schema.stdout, 3)}`);
    fs.writeFileSync(shardsFile, String(historyShards));

    const ports = await planPorts(opts.ports?.frontend);
    const env = serverEnvironment(postgres.port, historyShards, ports);
    const serverArgs = (services: string[]) => ['--config-file', CONFIG_FILE, '--allow-no-auth', 'start', ...services.flatMap((s) => ['--service', s])];
    const services: TemporalService[] =
      layout === 'single'
        ? [managedProcess('all', temporalBinary('temporal-server'), serverArgs([...SERVICES]), env, path.join(logDir, 'all.log'))]
        : SERVICES.map((name) => managedProcess(name, temporalBinary('temporal-server'), serverArgs([name]), env, path.join(logDir, `${name}.log`)));
    cleanups.push(async () => {
      await Promise.all(services.map((s) => s.kill('SIGTERM')));
    });
    const address = `127.0.0.1:${ports.frontend}`;
    // The first process writes the cluster's metadata into a new database; several doing it at once fail.
    const [first, ...rest] = services;
    await first!.start();
    await waitForFrontend(address, [first!], logDir, 120_000, 'started');
    for (const s of rest) await s.start();
    await waitForFrontend(address, services, logDir, 120_000, 'serving');

    const setupNamespace = async (ns: string, searchAttributes = CT_SEARCH_ATTRIBUTES) => {
      const result = await run('sh', [SETUP_NAMESPACE], {
        PATH: `${path.join(projectRoot, '.venv', 'bin')}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: ns,
        TEMPORAL_NAMESPACE_RETENTION: '168h',
        CT_SEARCH_ATTRIBUTES: searchAttributes,
      });
      fs.appendFileSync(path.join(logDir, 'setup-namespace.log'), result.stdout + result.stderr);
      return result;
    };
    if (opts.setupNamespace !== false) {
      const setup = await setupNamespace(namespace);
      if (setup.code !== 0) throw new Error(`registering namespace ${namespace} and the search attributes failed: ${lastLines(setup.stderr || setup.stdout, 3)}`);
      await waitForNamespace(address, namespace);
    }

    let uiUrl: string | undefined;
    if (wantUi) {
      const uiPort = opts.ports?.ui || (await freePort());
      const ui = managedProcess(
        'ui',
        temporalBinary('temporal-ui-server'),
        ['--address', address, '--port', String(uiPort), '--namespace', namespace],
        { PATH: process.env.PATH },
        path.join(logDir, 'ui-server.log'),
      );
      await ui.start();
      cleanups.push(() => ui.kill('SIGTERM'));
      uiUrl = `http://127.0.0.1:${uiPort}`;
      await waitForHttp(uiUrl, () => ui.pid() !== undefined, path.join(logDir, 'ui-server.log'));
    }

    return {
      address,
      namespace,
      uiUrl,
      historyShards,
      layout,
      postgres,
      services,
      service(name) {
        const found = services.find((s) => s.name === name);
        if (!found) throw new Error(`no separate ${name} process in the ${layout} layout`);
        return found;
      },
      logDir,
      setupNamespace,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A namespace just created reaches every service after their namespace caches refresh (a few seconds). */
async function waitForNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: 'ct-namespace-probe' } });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`namespace ${namespace} not usable within 30 s: ${(err as Error).message}`);
        await sleep(300);
      }
    }
  } finally {
    await connection.close();
  }
}

async function waitForHttp(url: string, alive: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive()) throw new Error(`the Temporal UI server exited at start: ${lastLines(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '', 3)}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the Temporal UI server did not answer on ${url} within 30 s`);
    await sleep(200);
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
  });
}
