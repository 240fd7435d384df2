// Shared by the benchmarks: the machine they ran on, free loopback ports, the Temporal dev server and the
// simulated local stack, the real worker (worker/main.ts) as a child process, RSS sampling from /proc,
// and the sections of bench/RESULTS.md (each benchmark rewrites only its own section).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '@continuous-training/stack/scripts/dev-server';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '@continuous-training/stack/local-stack';
import { demoPipeline } from '@continuous-training/stack/demo-pipeline';
import type { ConnectionsConfig } from 'continuous-training/activities';
import type { PipelineSpec } from 'continuous-training/common/pipeline';

export const MiB = 1024 * 1024;

// ---- machine ------------------------------------------------------------------------------------

export interface Machine {
  cores: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  date: string;
  commit: string;
  /** Files changed in the work tree outside bench/ (others work in the same tree). */
  dirtyOutsideBench: number;
}

export function machine(): Machine {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' }).trim();
  let commit = 'unknown';
  let dirty = 0;
  try {
    commit = git('rev-parse', '--short=12', 'HEAD');
    dirty = git('status', '--porcelain').split('\n').filter((l) => l && !/ bench\//.test(l)).length;
  } catch {
    // not a git checkout
  }
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit,
    dirtyOutsideBench: dirty,
  };
}

export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' / ');
}

export function machineLine(m: Machine, loadBefore: string, loadAfter: string): string {
  return (
    `Ran ${m.date} on ${m.cores} CPUs (${m.cpuModel}), ${m.memGiB} GiB RAM, Node ${m.node}, git commit \`${m.commit}\`` +
    `${m.dirtyOutsideBench ? ` (plus ${m.dirtyOutsideBench} uncommitted changes of others outside bench/)` : ''}; ` +
    `load average (1/5/15 min) ${loadBefore} before, ${loadAfter} after.`
  );
}

// ---- results file -------------------------------------------------------------------------------

const RESULTS = path.join(__dirname, '..', 'RESULTS.md');

/** Replaces this benchmark's section of RESULTS.md (between its markers), or appends it. */
export function writeSection(name: string, markdown: string): void {
  if (process.env.CT_BENCH_WRITE === '0') return void console.log(`(CT_BENCH_WRITE=0: ${path.relative(process.cwd(), RESULTS)} left as it was)`);
  const dbDir = process.env.CT_BENCH_DB_DIR;
  if (dbDir) {
    // The profiling variant gets its own section beside the canonical one.
    name = `${name}-db-${dbDir.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
    markdown = markdown.replace(/^## (.*)$/m, `## $1 — profiling variant: the dev server's SQLite file on ${dbDir}`);
  }
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const text = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, 'utf8') : '# Benchmarks\n';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  const next = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(RESULTS, next);
}

// ---- crash safety -------------------------------------------------------------------------------

const owned = new Set<number>();
const ownedDirs = new Set<string>();
/** Streams the emulators (in the benchmark process) failed to close cleanly; see the handler below. */
export const emulatorStreamErrors: string[] = [];

/** Child processes and temp dirs that must not outlive the benchmark, even if it crashes. */
export function own(pid: number | undefined, dir?: string): void {
  if (pid) owned.add(pid);
  if (dir) ownedDirs.add(dir);
}

function killOwned(): void {
  for (const pid of owned) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of ownedDirs) fs.rmSync(dir, { recursive: true, force: true });
}

process.on('exit', killOwned);
process.on('uncaughtException', (err: Error & { code?: string }) => {
  // The Determined emulator's checkpoint archive (emulators/determined/archive.ts) leaves a tar entry stream
  // without an error listener: when a client drops the download (e.g. a retried publishModel under heavy load),
  // ERR_STREAM_PREMATURE_CLOSE surfaces here. It only concerns that one download: note it and go on.
  if (err.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    emulatorStreamErrors.push(err.message);
    console.error(`warning: an emulator stream was closed early (${err.message}); going on`);
    return;
  }
  console.error(err);
  killOwned();
  process.exit(1);
});

// ---- numbers ------------------------------------------------------------------------------------

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- ports, temp dirs, bounded runs -------------------------------------------------------------

import { freePort } from '@continuous-training/stack/processes';
export { freePort };

export function tempDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ct-bench-${name}-`));
  own(undefined, dir);
  return dir;
}

/** Exits the process if the benchmark runs longer than `ms` (children are killed by their cleanups or orphaned as SIGKILLed). */
export function deadline(ms: number, cleanup: () => Promise<void>): NodeJS.Timeout {
  const timer = setTimeout(() => {
    console.error(`benchmark took longer than ${ms / 1000} s: stopping`);
    void cleanup().finally(() => process.exit(2));
  }, ms);
  timer.unref();
  return timer;
}

/** Runs a benchmark's main and exits: 0 when it resolves, 1 (with the error) when it fails. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

// ---- Temporal and the emulators -----------------------------------------------------------------

export interface BenchEnv {
  tmp: string;
  /** The dev server's SQLite file. */
  dbFile: string;
  dev: DevServer;
  stack: LocalStack;
  connection: Connection;
  client: Client;
  /** Runs `cleanup` when the env closes, before its own servers stop (the last registered runs first). */
  onClose(cleanup: () => Promise<void>): void;
  close(): Promise<void>;
}

export interface BenchEnvOptions extends Omit<LocalStackOptions, 'stateDir' | 'mode'> {
  name: string;
}

/** A dev server on free ports with a temp db, and the simulated local stack (zero delays unless given). */
export async function startBenchEnv(opts: BenchEnvOptions): Promise<BenchEnv> {
  const tmp = tempDir(opts.name);
  // Profiling knob: CT_BENCH_DB_DIR=/dev/shm puts the dev server's SQLite file on tmpfs (no fsync cost).
  const dbDir = process.env.CT_BENCH_DB_DIR ? fs.mkdtempSync(path.join(process.env.CT_BENCH_DB_DIR, 'ct-bench-db-')) : tmp;
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
    cleanups.length = 0;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(dbDir, { recursive: true, force: true });
  };
  try {
    const dev = await startDevServer({
      dbFile: path.join(dbDir, 'temporal.db'),
      port: await freePort(),
      uiPort: await freePort(),
      logFile: path.join(tmp, 'temporal.log'),
    });
    own(findPid(path.join(dbDir, 'temporal.db')), tmp);
    if (dbDir !== tmp) own(undefined, dbDir);
    cleanups.push(() => dev.stop());
    const stack = await startLocalStack({
      stateDir: path.join(tmp, 'stack'),
      mode: 'simulated',
      determinedDelays: { queuedMs: 0, pullingMs: 0, startingMs: 0, runningMs: 0 },
      seldonAvailableDelayMs: 0,
      ...opts,
    });
    cleanups.push(() => stack.close());
    const connection = await Connection.connect({ address: dev.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const onClose = (cleanup: () => Promise<void>) => void cleanups.push(cleanup);
    return { tmp, dbFile: path.join(dbDir, 'temporal.db'), dev, stack, connection, client, onClose, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A pipeline of the example config with its own input/output repos, model and deployment. */
export function benchPipeline(stack: LocalStack, name: string, pollInterval = '10ms'): PipelineSpec {
  const base = demoPipeline(stack.experimentRepo, { pollInterval });
  return {
    ...base,
    name,
    input: { ...base.input, repo: name },
    modelName: name,
    output: { ...base.output, repo: `${name}-model` },
    deployment: { ...base.deployment, name: `${name}-deploy` },
  };
}

/** Tiny files for one commit (distinct content per `seq`, so every commit adds data). */
export function smallBatch(seq: number, files = 4): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < files; i++) out[`/batch-${seq}/file-${i}.txt`] = `batch ${seq} file ${i}\n`;
  return out;
}

// ---- child processes ----------------------------------------------------------------------------

/** A TypeScript file run by node itself (tsx as a loader), so the pid is the process doing the work. */
export function spawnTs(file: string, args: string[], env: NodeJS.ProcessEnv, ipc = false): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: projectRoot,
    env,
    stdio: ipc ? ['ignore', 'inherit', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  own(child.pid);
  child.once('exit', () => owned.delete(child.pid!));
  return child;
}

/** The worker's environment (README, Configuration) for the given systems and dev server. */
export function workerEnv(connections: ConnectionsConfig, temporalAddress: string, taskQueue: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    CT_TASK_QUEUE: taskQueue,
    PACHD_URL: connections.pachyderm.url,
    PACHD_EXPERIMENT_HOST: connections.pachyderm.experimentHost,
    PACHD_EXPERIMENT_PORT: String(connections.pachyderm.experimentPort),
    DET_MASTER: connections.determined.url,
    DET_USER: connections.determined.user,
    DET_PASSWORD: connections.determined.password,
    SELDON_URL: connections.seldon.url,
    SELDON_OIDC_ISSUER: connections.seldon.oidcIssuer,
    SELDON_CLIENT_ID: connections.seldon.clientId,
    SELDON_CLIENT_SECRET: connections.seldon.clientSecret,
    CT_HTTP_TIMEOUT_MS: String(connections.timeoutMs),
    CT_CACHE_DIR: connections.cacheDir,
    CT_LOG_LEVEL: 'WARN',
  };
}

export interface WorkerChild {
  proc: ChildProcess;
  pid: number;
  /** stderr lines (JSON logs) of the worker. */
  logs: string[];
  /** Stops it with SIGTERM (SIGKILL after `graceMs`) and waits for the exit. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<void>;
}

/** The compiled worker of `npm run build` (product/build), run by plain node as in production. */
export const compiledWorker = path.join(projectRoot, 'product', 'build', 'worker', 'main.js');

/**
 * Starts the product's worker process and waits for its `worker started` line: worker/main.ts with tsx,
 * or with `compiled`, build/worker/main.js on plain node.
 */
export async function startWorkerChild(env: NodeJS.ProcessEnv, compiled = false): Promise<WorkerChild> {
  const proc = compiled
    ? spawn(process.execPath, [compiledWorker], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawnTs(path.join(projectRoot, 'product', 'worker', 'main.ts'), [], env);
  own(proc.pid);
  proc.once('exit', () => owned.delete(proc.pid!));
  const logs: string[] = [];
  let exitedFlag = false;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => ((exitedFlag = true), resolve())));
  const started = new Promise<void>((resolve, reject) => {
    let pending = '';
    proc.stderr?.on('data', (d: Buffer) => {
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (logs.length < 2000) logs.push(line);
        if (line.includes('"worker started"')) resolve();
      }
    });
    proc.stdout?.resume();
    void exited.then(() => reject(new Error(`worker exited before starting:\n${logs.slice(-20).join('\n')}`)));
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  try {
    await started;
  } finally {
    clearTimeout(timer);
  }
  return {
    proc,
    pid: proc.pid!,
    logs,
    exited,
    stop: async (graceMs = 10_000) => {
      if (exitedFlag) return;
      proc.kill('SIGTERM');
      const force = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(force);
    },
  };
}

// ---- memory -------------------------------------------------------------------------------------

/** VmRSS and VmHWM (peak RSS) of a process, in MiB, from /proc (Linux). */
export function procMemory(pid: number): { rssMiB: number; hwmMiB: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `intervalMs`; also reads the kernel's high-water mark (which includes start-up). */
export class RssSampler {
  readonly samples: number[] = [];
  peakMiB = 0;
  hwmMiB = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): number {
    const m = procMemory(this.pid);
    if (!m) return NaN;
    this.samples.push(m.rssMiB);
    this.peakMiB = Math.max(this.peakMiB, m.rssMiB);
    this.hwmMiB = Math.max(this.hwmMiB, m.hwmMiB);
    return m.rssMiB;
  }

  stop(): { startMiB: number; endMiB: number; peakMiB: number; hwmMiB: number; medianMiB: number } {
    this.sample();
    clearInterval(this.timer);
    return { startMiB: this.samples[0] ?? NaN, endMiB: this.samples.at(-1) ?? NaN, peakMiB: this.peakMiB, hwmMiB: this.hwmMiB, medianMiB: median(this.samples) };
  }
}

// ---- CPU ----------------------------------------------------------------------------------------

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far (Linux /proc), NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** The pid of the process whose command line contains `needle` (e.g. the dev server's db file). */
export function findPid(needle: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

/** CPU seconds used by named processes between start() and the returned function's call. */
export function cpuMeter(pids: Record<string, number | undefined>): () => Record<string, number> {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? cpuSeconds(pid) : NaN]));
  return () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (pid ? cpuSeconds(pid) : NaN) - start[k]]));
}
