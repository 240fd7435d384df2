// Starts Pachyderm's own pachd (v2.12.2, auth on) without Kubernetes, for the real-pachd test tier and
// `npm run demo -- --pachyderm real`: a PostgreSQL cluster of its own on a loopback port (fsync off),
// then the entry program stack/real-pachd built by scripts/real-pachd.sh. Only PFS and auth work here
// (pipelines need Kubernetes). Failures say what is missing, name ports in use and quote pachd's error.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { PachdRestClient } from '@continuous-training/emulators/pachyderm';

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

/** PostgreSQL's server binaries (initdb, postgres, pg_isready, createdb): REAL_PACHD_PG_BIN, Debian's newest, or PATH. */
function postgresBinDir(): string | undefined {
  const fromEnv = process.env.REAL_PACHD_PG_BIN;
  if (fromEnv) return fs.existsSync(path.join(fromEnv, 'initdb')) ? fromEnv : undefined;
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs.readdirSync(debian).filter((v) => fs.existsSync(path.join(debian, v, 'bin', 'initdb')));
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(debian, versions[0]!, 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return which.status === 0 ? path.dirname(which.stdout.trim()) : undefined;
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
  if (!postgresBinDir()) missing.push("PostgreSQL's server (Debian: `apt-get install -y postgresql-15`)");
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
    const pg = await startPostgres(path.join(stateDir, 'postgres'), opts.pgPort);
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

// --- PostgreSQL ------------------------------------------------------------------------------------

/** initdb refuses to run as root: as root, the cluster belongs to the `postgres` user (or `nobody`). */
function clusterOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', user], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
    if (id.status === 0 && gid.status === 0) return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('running as root, and neither a `postgres` nor a `nobody` user exists to own the PostgreSQL cluster');
}

/** The cluster's owner must be able to reach its folder: temp folders are 0700, so add search (x, not read) for others. */
function letOwnerThrough(dir: string): void {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if (!(mode & 0o001)) fs.chmodSync(d, (mode & 0o7777) | 0o001);
  }
}

async function startPostgres(dataDir: string, port?: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const bin = postgresBinDir()!;
  const owner = clusterOwner();
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (owner) {
      fs.chownSync(dataDir, owner.uid, owner.gid);
      letOwnerThrough(path.dirname(dataDir));
    }
    const init = spawnSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', PG_USER, '--auth=trust', '-E', 'UTF8', '--no-sync'], {
      ...asOwner,
      encoding: 'utf8',
      cwd: '/',
    });
    if (init.status !== 0) throw new Error(`initdb failed: ${(init.stderr || init.stdout).trim()}`);
  }
  const pgPort = port || (await freePort());
  const logFile = path.join(dataDir, 'postgres.log');
  const out = fs.openSync(logFile, 'a');
  if (owner) fs.fchownSync(out, owner.uid, owner.gid);
  const child = spawn(
    path.join(bin, 'postgres'),
    [
      '-D', dataDir, '-p', String(pgPort),
      '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dataDir}`,
      // A test database: durability is not wanted, speed is.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ],
    { ...asOwner, stdio: ['ignore', out, out], cwd: '/' },
  );
  fs.closeSync(out);
  const exited = exitOf(child, 'SIGQUIT');
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGINT'); // fast shutdown
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = spawnSync(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(pgPort), '-U', PG_USER]);
    if (ready.status === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      const logText = fs.readFileSync(logFile, 'utf8');
      if (/Address already in use|could not bind/i.test(logText)) throw new Error(`PostgreSQL port ${pgPort} is in use`);
      throw new Error(`PostgreSQL did not start: ${lastLines(logText, 5)}`);
    }
    await sleep(100);
  }
  const create = spawnSync(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(pgPort), '-U', PG_USER, PG_DB], { encoding: 'utf8' });
  if (create.status !== 0 && !/already exists/.test(create.stderr)) {
    await stop();
    throw new Error(`createdb failed: ${create.stderr.trim()}`);
  }
  return { port: pgPort, stop };
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
  if (first !== null && typeof first === 'object') return { ...first, startMs: Date.now() - started, stop };
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

async function getRobotToken(url: string, rootToken: string, robot: string): Promise<string> {
  const client = new PachdRestClient({ url, authToken: rootToken });
  return (await client.call<{ token: string }>('auth_v2.API/GetRobotToken', { robot })).token;
}

// --- small helpers -------------------------------------------------------------------------------------

/**
 * Resolves when the child exits. Until then it is ended with this process too: jest's forceExit (or any
 * process.exit) must not leave a PostgreSQL or a pachd running (SIGQUIT: PostgreSQL's immediate shutdown).
 */
function exitOf(child: ChildProcess, endSignal: NodeJS.Signals): Promise<number | null> {
  const endWithUs = () => child.kill(endSignal);
  process.once('exit', endWithUs);
  return new Promise((resolve) => {
    const done = (code: number | null) => {
      process.off('exit', endWithUs);
      resolve(code);
    };
    child.once('exit', (code) => done(code));
    child.once('error', () => done(-1));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
