// The Determined master emulator: start it embedded (tests, local runs) or through main.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router } from '../common/router';
import { startEmulatorServer } from '../common/server';
import type { FaultConfig, FaultInjector } from '../common/faults';
import { errorBodyForStatus } from './errors';
import { ExpconfValidator } from './expconf';
import { MasterStore, type OutcomeRule } from './store';
import { DEFAULT_DELAYS, RunManager, type RunDelays } from './runs';
import type { MasterContext } from './context';
import { addAuthRoutes } from './routes/auth';
import { addExperimentRoutes } from './routes/experiments';
import { addCheckpointRoutes } from './routes/checkpoints';
import { addModelRoutes } from './routes/models';
import { addTrialRoutes } from './routes/trials';
import { addControlRoutes, validateOutcomeRules } from './routes/control';

export type { RunDelays } from './runs';
export type { OutcomeRule, Outcome } from './store';

export interface DeterminedUser {
  username: string;
  password: string;
  admin?: boolean;
  /** Default true; an inactive user's login gets 403 "user is not active". */
  active?: boolean;
  /** Default false; a remote (SSO-only) user's password login gets 401, like a wrong password. */
  remote?: boolean;
}

export interface DeterminedEmulatorOptions {
  /** Where everything is persisted; a fresh temp dir when absent. Restarting on the same dir loses nothing. */
  stateDir?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Structured request logs (one JSON line per request); none when null/absent. */
  log?: NodeJS.WritableStream | null;
  /** Initial fault injection rules (also settable at run time: PUT /__emulator/faults). */
  faults?: FaultConfig;
  /** Password of the default users `determined` and `admin` (default: empty, as on a fresh master). */
  password?: string;
  /** Users to create or update at start; replaces the default users when given. */
  users?: DeterminedUser[];
  /** `simulated` (default) makes runs up; `process` runs the entrypoint command for real. */
  runner?: 'simulated' | 'process';
  /** Python for the process runner (default `.venv/bin/python` of the project). */
  python?: string;
  /** Per-state delays of a run, in milliseconds. */
  delays?: Partial<RunDelays>;
  /** Initial outcome rules of simulated runs (replace the persisted ones when given). */
  outcomes?: OutcomeRule[];
}

export interface RunningDeterminedEmulator {
  url: string;
  port: number;
  stateDir: string;
  faults: FaultInjector;
  store: MasterStore;
  /** Stops runs (processes get SIGTERM) and the server; state stays for a restart. */
  close(): Promise<void>;
}

export async function startDeterminedEmulator(opts: DeterminedEmulatorOptions = {}): Promise<RunningDeterminedEmulator> {
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ct-determined-'));
  const store = new MasterStore(stateDir);
  upsertUsers(store, opts.users ?? [
    { username: 'determined', password: opts.password ?? '', admin: false },
    { username: 'admin', password: opts.password ?? '', admin: true },
  ]);
  if (opts.outcomes) store.state.outcomes = validateOutcomeRules(opts.outcomes);
  store.save();

  let url = '';
  const runs = new RunManager({
    store,
    runner: opts.runner ?? 'simulated',
    python: opts.python ?? path.resolve(__dirname, '..', '..', '.venv', 'bin', 'python'),
    delays: { ...DEFAULT_DELAYS, ...opts.delays },
    masterUrl: () => url,
  });
  const master: MasterContext = {
    store,
    runs,
    validator: new ExpconfValidator(),
    url: () => url,
    defaultCheckpointStorage: { type: 'shared_fs', host_path: '/determined_shared_fs' },
  };
  const router = new Router();
  addAuthRoutes(router, master);
  addExperimentRoutes(router, master);
  addTrialRoutes(router, master);
  addCheckpointRoutes(router, master);
  addModelRoutes(router, master);
  addControlRoutes(router, master);

  const server = await startEmulatorServer({
    name: 'determined',
    router,
    port: opts.port,
    host: opts.host,
    log: opts.log,
    errorBody: errorBodyForStatus,
    faults: opts.faults,
  });
  url = server.url;
  runs.resumeAll();
  return {
    url: server.url,
    port: server.port,
    stateDir,
    faults: server.faults,
    store,
    close: async () => {
      await runs.close();
      await server.close();
    },
  };
}

function upsertUsers(store: MasterStore, users: DeterminedUser[]): void {
  for (const u of users) {
    if (!u.username || typeof u.password !== 'string') throw new Error(`invalid user ${JSON.stringify(u.username)}: username and password are required`);
    const existing = store.state.users.find((x) => x.username === u.username);
    const settings = { password: u.password, admin: !!u.admin, active: u.active ?? true, remote: !!u.remote };
    if (existing) Object.assign(existing, settings);
    else store.state.users.push({ id: store.nextId('user'), username: u.username, displayName: '', ...settings });
  }
}
