// Worker processes for reliability tests: the compiled worker (`npm run worker:compiled`, the image's CMD)
// spawned with a stack's connections as its environment, so a test can SIGKILL it mid-activity like a
// crashed pod. Every process spawned here is tracked and killed by `killAllWorkers()` (call it in
// afterAll) and, as a last resort, on process exit.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionsConfig } from 'continuous-training/activities';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { testWorkflowBundlePath } from 'continuous-training/test/helpers/workflow-bundle';
import { compiledWorkerMain } from 'continuous-training/test/helpers/product-build';

export interface WorkerProcessOptions {
  temporalAddress: string;
  taskQueue: string;
  connections: ConnectionsConfig;
  namespace?: string;
  /** Variables set after the connections' (e.g. a wrong password); `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** How long to wait for the "worker started" line. */
  startTimeoutMs?: number;
}

export interface WorkerProcess {
  readonly pid: number;
  /** The identity the SDK reports for this worker (`pid@host`), as seen in pending activities and history. */
  readonly identity: string;
  /** stdout and stderr lines so far. */
  readonly output: string[];
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGKILL (a crash: no graceful shutdown, in-flight activities are abandoned); resolves once it exited. */
  kill(): Promise<void>;
  /** SIGTERM (a pod stopped): the graceful shutdown; resolves with the exit code. */
  terminate(): Promise<number | string>;
  isAlive(): boolean;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});


/** The worker's environment for a stack's connections, as an operator would set it. */
export function workerEnv(opts: WorkerProcessOptions, cacheDir: string): Record<string, string> {
  const c = opts.connections;
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    TEMPORAL_ADDRESS: opts.temporalAddress,
    TEMPORAL_NAMESPACE: opts.namespace ?? 'default',
    CT_TASK_QUEUE: opts.taskQueue,
    PACHD_URL: c.pachyderm.url,
    PACHD_TOKEN: c.pachyderm.token,
    PACHD_EXPERIMENT_HOST: c.pachyderm.experimentHost,
    PACHD_EXPERIMENT_PORT: String(c.pachyderm.experimentPort),
    DET_MASTER: c.determined.url,
    DET_USER: c.determined.user,
    DET_PASSWORD: c.determined.password,
    SELDON_URL: c.seldon.url,
    SELDON_OIDC_ISSUER: c.seldon.oidcIssuer,
    SELDON_CLIENT_ID: c.seldon.clientId,
    SELDON_CLIENT_SECRET: c.seldon.clientSecret,
    SELDON_USER: c.seldon.username,
    SELDON_PASSWORD: c.seldon.password,
    CT_HTTP_TIMEOUT_MS: String(c.timeoutMs),
    CT_CACHE_DIR: cacheDir,
    CT_LOG_LEVEL: 'WARN',
    // The run's prebuilt bundle, as production workers load theirs: no webpack at each start.
    CT_WORKFLOW_BUNDLE: testWorkflowBundlePath(),
    ...opts.env,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Spawns a worker process and waits for its "worker started" line (rejects if it exits first). */
export async function spawnWorker(opts: WorkerProcessOptions): Promise<WorkerProcess> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-rel-worker-'));
  // node itself (no wrapper process that a SIGKILL would leave the worker orphaned by): the pid we kill is the worker.
  const child = spawn(process.execPath, [compiledWorkerMain()], {
    cwd: projectRoot,
    env: workerEnv(opts, cacheDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const output: string[] = [];
  let started = false;
  let onStarted: () => void = () => undefined;
  const startedPromise = new Promise<void>((resolve) => (onStarted = resolve));
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (output.length < 5000) output.push(line);
        if (!started && line.includes('"message":"worker started"')) {
          started = true;
          onStarted();
        }
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      fs.rmSync(cacheDir, { recursive: true, force: true });
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the worker process did not start');
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const timeoutMs = opts.startTimeoutMs ?? 90_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      startedPromise,
      exited.then((code) => {
        throw new Error(`worker exited (${code}) before it started:\n${output.slice(-20).join('\n')}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`worker not started after ${timeoutMs} ms:\n${output.slice(-20).join('\n')}`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    await kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    pid,
    identity: `${pid}@${os.hostname()}`,
    output,
    exited,
    kill,
    terminate: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    isAlive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Runs a worker process until it exits by itself (e.g. bad configuration); returns its code and output. */
export async function runWorkerToExit(opts: WorkerProcessOptions, timeoutMs = 60_000): Promise<{ code: number | string; output: string[] }> {
  try {
    const worker = await spawnWorker({ ...opts, startTimeoutMs: timeoutMs });
    await worker.kill();
    throw new Error(`the worker started: ${worker.output.join('\n')}`);
  } catch (err) {
    const match = /^worker exited \((.*?)\) before it started:\n([\s\S]*)$/.exec((err as Error).message);
    if (!match) throw err;
    return { code: Number.isNaN(Number(match[1])) ? match[1] : Number(match[1]), output: match[2].split('\n') };
  }
}

/** SIGKILLs every worker process still alive; for afterAll. */
export async function killAllWorkers(): Promise<void> {
  const children = [...live];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
