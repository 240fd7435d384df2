// A PostgreSQL cluster of the stack's own, unprivileged, in a project folder, on a loopback port: for real pachd
// (stack/real-pachd.ts) and the Temporal cluster (stack/temporal-cluster.ts). Debian's server binaries (or
// PG_BIN / REAL_PACHD_PG_BIN); as root the cluster belongs to the `postgres` user, as initdb requires.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { exitOf, freePort, lastLines, sleep } from './processes';

export interface PostgresOptions {
  dataDir: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** The superuser initdb creates (trust authentication on loopback). */
  user: string;
  /** Databases created when missing. */
  databases?: string[];
  /** Extra server settings (`-c name=value`), after the stack's defaults. */
  settings?: Record<string, string>;
}

export interface Postgres {
  port: number;
  /** The postmaster's pid while it runs (its backends are its children). */
  pid(): number | undefined;
  user: string;
  /** The server settings it runs with (for the benchmarks' write-up). */
  settings: Record<string, string>;
  /** Fast shutdown (SIGINT); the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data after stop(). */
  start(): Promise<void>;
}

/** A test and demo database: durability is not wanted, speed is. */
export const DEFAULT_SETTINGS: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: '200',
};

/** PostgreSQL's server binaries (initdb, postgres, pg_isready, createdb): PG_BIN, REAL_PACHD_PG_BIN, Debian's newest, or PATH. */
export function postgresBinDir(): string | undefined {
  const fromEnv = process.env.PG_BIN || process.env.REAL_PACHD_PG_BIN;
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

export const POSTGRES_MISSING = "PostgreSQL's server (Debian: `apt-get install -y postgresql-15`)";

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

export async function startPostgres(opts: PostgresOptions): Promise<Postgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(`PostgreSQL is missing: install ${POSTGRES_MISSING}`);
  const { dataDir, user } = opts;
  const owner = clusterOwner();
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (owner) {
      fs.chownSync(dataDir, owner.uid, owner.gid);
      letOwnerThrough(path.dirname(dataDir));
    }
    const init = spawnSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', user, '--auth=trust', '-E', 'UTF8', '--no-sync'], {
      ...asOwner,
      encoding: 'utf8',
      cwd: '/',
    });
    if (init.status !== 0) throw new Error(`initdb failed: ${(init.stderr || init.stdout).trim()}`);
  }
  const port = opts.port || (await freePort());
  const settings = { ...DEFAULT_SETTINGS, ...opts.settings };
  const logFile = path.join(dataDir, 'postgres.log');
  let stopServer: (() => Promise<void>) | undefined;
  let pid: number | undefined;

  const start = async () => {
    const out = fs.openSync(logFile, 'a');
    if (owner) fs.fchownSync(out, owner.uid, owner.gid);
    const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dataDir}`];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const child = spawn(path.join(bin, 'postgres'), args, { ...asOwner, stdio: ['ignore', out, out], cwd: '/' });
    fs.closeSync(out);
    const exited = exitOf(child, 'SIGQUIT'); // SIGQUIT: PostgreSQL's immediate shutdown
    pid = child.pid;
    stopServer = async () => {
      if (child.exitCode === null) child.kill('SIGINT'); // fast shutdown
      await exited;
      pid = undefined;
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = spawnSync(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', user]);
      if (ready.status === 0) break;
      if (child.exitCode !== null || Date.now() > deadline) {
        await stopServer();
        const logText = fs.readFileSync(logFile, 'utf8');
        if (/Address already in use|could not bind/i.test(logText)) throw new Error(`PostgreSQL port ${port} is in use`);
        throw new Error(`PostgreSQL did not start: ${lastLines(logText, 5)}`);
      }
      await sleep(100);
    }
  };
  await start();
  for (const db of opts.databases ?? []) {
    const create = spawnSync(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, db], { encoding: 'utf8' });
    if (create.status !== 0 && !/already exists/.test(create.stderr)) {
      await stopServer?.();
      throw new Error(`createdb failed: ${create.stderr.trim()}`);
    }
  }
  return {
    port,
    pid: () => pid,
    user,
    settings,
    stop: async () => stopServer?.(),
    start,
  };
}
