// Starts Pachyderm's own pachd (v2.12.2, auth on) without Kubernetes, for the real-pachd test tier and
// `npm run demo -- --pachyderm real`: a PostgreSQL cluster of its own on a loopback port (fsync off),
// then the entry program stack/real-pachd built by scripts/real-pachd.sh. Only PFS and auth work here
// (pipelines need Kubernetes). Failures say what is missing, name ports in use and quote pachd's error.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { PachdRestClient } from '@continuous-training/emulators/pachyderm';
import { POSTGRES_MISSING, postgresBinDir, startPostgres } from './postgres';
import { exitOf, lastLines, sleep } from './processes';

export { freePort } from './processes';

export const REAL_PACHD_VERSION = '2.12.2';
const PG_USER = 'pachyderm';
const PG_DB = 'pachyderm';

export interface RealPachdOptions {
  /** Where PostgreSQL's cluster, etcd and the objects live; kept (a restart keeps the data). A temp dir, removed on close, when absent. */
  stateDir?: string;
  /** pachd's HTTP port (REST gateway /api/, /pfs/, /healthz); 0 or absent: a free one. */
  httpPort?: number;
  /** pachd's gRPC port; 0 or absent: a free one. */
  grpcPort?: number;
  /** PostgreSQL's port; 0 or absent: a free one. */
  pgPort?: number;
  /** The root token auth is activated with; a random one when absent (and stored in stateDir). */
  rootToken?: string;
}

export interface RealPachd {
  kind: 'real';
  /** pachd's HTTP server, e.g. http://127.0.0.1:1659: what PACHD_URL points at. */
  url: string;
  grpcAddress: string;
  rootToken: string;
  version: string;
  /** Milliseconds from spawning pachd to its ready line (migrations included). */
  startMs: number;
  /** A robot user's token (auth_v2 GetRobotToken, made with the root token). */
  robotToken(robot: string): Promise<string>;
  /** Stops pachd and starts it again on the same ports and data (PostgreSQL keeps running). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** The entry program's folder name in the cache: scripts/real-pachd.sh computes the same. */
export function realPachdBinaryPath(): string {
  const src = path.join(projectRoot, 'stack', 'real-pachd');
  const hash = crypto.createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) hash.update(fs.readFileSync(path.join(src, f)));
  const cache = process.env.REAL_PACHD_CACHE ?? path.join(projectRoot, '.cache', 'real-pachd');
  return path.join(cache, `${REAL_PACHD_VERSION}-${hash.digest('hex').slice(0, 16)}`, 'real-pachd');
}

/** Why real pachd cannot start here (what to install or build), or undefined when it can. */
export function realPachdUnavailableReason(): string | undefined {
  const missing: string[] = [];
  if (!fs.existsSync(realPachdBinaryPath())) {
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    missing.push(go.status === 0
      ? 'the real-pachd binary is not built: run `bash scripts/real-pachd.sh build` (or scripts/setup.sh --for-tests)'
      : 'Go (>= 1.23) to build real pachd, then `bash scripts/real-pachd.sh build`');
  }
  if (!postgresBinDir()) missing.push(POSTGRES_MISSING);
  return missing.length ? `real pachd unavailable: ${missing.join('; ')}` : undefined;
}

export async function startRealPachd(opts: RealPachdOptions = {}): Promise<RealPachd> {
  const unavailable = realPachdUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  const ownState = !opts.stateDir;
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'real-pachd-'));
  fs.mkdirSync(stateDir, { recursive: true });
  const rootToken = opts.rootToken ?? storedToken(stateDir);
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    if (ownState) fs.rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const pg = await startPostgres({ dataDir: path.join(stateDir, 'postgres'), port: opts.pgPort, user: PG_USER, databases: [PG_DB] });
    cleanups.push(pg.stop);
    let pachd = await startPachdProcess(stateDir, pg.port, rootToken, opts);
    cleanups.push(() => pachd.stop());
    const url = `http://${pachd.http}`;
    const ports = { httpPort: portOf(pachd.http), grpcPort: portOf(pachd.grpc) };
    return {
      kind: 'real',
      url,
      grpcAddress: pachd.grpc,
      rootToken,
      version: pachd.version,
      startMs: pachd.startMs,
      robotToken: (robot) => getRobotToken(url, rootToken, robot),
      restart: async () => {
        await pachd.stop();
        pachd = await startPachdProcess(stateDir, pg.port, rootToken, ports);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function storedToken(stateDir: string): string {
  const file = path.join(stateDir, 'root-token');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `root-${crypto.randomBytes(16).toString('hex')}`, { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

// --- pachd -------------------------------------------------------------------------------------------

interface PachdProcess {
  http: string;
  grpc: string;
  version: string;
  startMs: number;
  stop: () => Promise<void>;
}

async function startPachdProcess(stateDir: string, pgPort: number, rootToken: string, opts: RealPachdOptions): Promise<PachdProcess> {
  const logFile = path.join(stateDir, 'pachd.log');
  const err = fs.openSync(logFile, 'a');
  const started = Date.now();
  const child = spawn(
    realPachdBinaryPath(),
    [
      '-data-dir', path.join(stateDir, 'pachd'),
      '-grpc-port', String(opts.grpcPort ?? 0),
      '-http-port', String(opts.httpPort ?? 0),
      '-pg-port', String(pgPort), '-pg-user', PG_USER, '-pg-db', PG_DB,
      '-root-token', rootToken,
    ],
    { stdio: ['ignore', 'pipe', err] },
  );
  fs.closeSync(err);
  const exited = exitOf(child, 'SIGKILL');
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const lines = readline.createInterface({ input: child.stdout! });
  const ready = new Promise<{ http: string; grpc: string; version: string }>((resolve) => {
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { ready?: boolean; http: string; grpc: string; version: string };
        if (msg.ready) resolve(msg);
      } catch {
        // not the ready line
      }
    });
  });
  const timeout = sleep(120_000).then(() => 'timeout' as const);
  const first = await Promise.race([ready, exited, timeout]);
  if (first !== null && typeof first === 'object') {
    const startMs = Date.now() - started;
    await answersThroughGateway(`http://${first.http}`, rootToken).catch(async (err: unknown) => {
      await stop();
      throw err;
    });
    return { ...first, startMs, stop };
  }
  await stop();
  const reason = first === 'timeout' ? 'no ready line within 120 s' : `exited with code ${first}`;
  throw new Error(`real pachd did not start (${reason}): ${pachdError(fs.readFileSync(logFile, 'utf8'))} (log: ${logFile})`);
}

/** pachd's own error: the entry program's last line (it names a port in use), else the last error log entry. */
export function pachdError(log: string): string {
  const lines = log.trim().split('\n');
  const own = [...lines].reverse().find((l) => l.startsWith('real-pachd: '));
  if (own) return own.slice('real-pachd: '.length);
  for (const line of [...lines].reverse()) {
    try {
      const entry = JSON.parse(line) as { severity?: string; message?: string; error?: string };
      if (entry.severity === 'error' || entry.severity === 'fatal') return [entry.message, entry.error].filter(Boolean).join(': ');
    } catch {
      // a line that is not JSON (a Go panic, say): reported below
    }
  }
  return lastLines(log, 5);
}

/**
 * Waits until a call through pachd's REST gateway reaches its gRPC API: pachd is started only then. Right
 * after a restart on the same ports, under load, the gateway's first calls were seen to fail ("dial tcp …:
 * connection refused") although pachd had printed its ready line.
 */
async function answersThroughGateway(url: string, rootToken: string, timeoutMs = 30_000): Promise<void> {
  const client = new PachdRestClient({ url, authToken: rootToken });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.call('auth_v2.API/WhoAmI', {});
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`real pachd printed its ready line but its API does not answer through ${url} after ${timeoutMs} ms: ${(err as Error).message}`);
      await sleep(100);
    }
  }
}

async function getRobotToken(url: string, rootToken: string, robot: string): Promise<string> {
  const client = new PachdRestClient({ url, authToken: rootToken });
  return (await client.call<{ token: string }>('auth_v2.API/GetRobotToken', { robot })).token;
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
