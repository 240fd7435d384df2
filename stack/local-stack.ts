// The three emulators wired together as a newcomer's laptop cluster: Pachyderm, a Determined master
// that really runs the example experiment (process runner), and Seldon Deploy that really starts the
// serving image's model server (seldon-core-microservice) for each deployment. Used by the demo and
// the end-to-end tests; the worker and the watcher connect to it like to real clusters.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { PachdRestClient, startPachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { startDeterminedEmulator, type RunningDeterminedEmulator } from '@continuous-training/emulators/determined';
import { startSeldonEmulator, type RunningSeldonEmulator } from '@continuous-training/emulators/seldon/emulator';
import type { ConnectionsConfig } from 'continuous-training/activities';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { startRealPachd } from './real-pachd';

export const DEMO_SERVING_IMAGE = 'continuous-training/shapes-serving:local';
export const DEMO_CREDENTIALS_SECRET = 'determined-credentials';
export const DEMO_NAMESPACE = 'seldon';

export interface LocalStackOptions {
  stateDir: string;
  /** 0 or absent: a free port. */
  ports?: { pachd?: number; determined?: number; seldon?: number };
  /** Request logs of the emulators; none by default. */
  log?: NodeJS.WritableStream | null;
  /**
   * `process` (default): Determined really runs the example experiment and Seldon really starts the
   * serving image. `simulated`: runs and rollouts are made up with the given timing (no Python), for
   * tests and benchmarks that are about orchestration rather than models.
   */
  mode?: 'process' | 'simulated';
  /** Per-state delays of Determined runs, in milliseconds. */
  determinedDelays?: { queuedMs?: number; pullingMs?: number; startingMs?: number; runningMs?: number };
  /** How long a simulated Seldon rollout takes to become Available. */
  seldonAvailableDelayMs?: number;
  /** Turn pachd's auth on: every call then needs the stack's token (`connections.pachyderm.token`). */
  pachdAuth?: boolean;
  /**
   * `emulator` (default), or `real`: Pachyderm's own pachd (stack/real-pachd.ts; needs Go and PostgreSQL).
   * Real pachd always has auth on: the stack's token is then a robot user's, which owns the repos it creates.
   */
  pachyderm?: 'emulator' | 'real';
}

/** What the stack's users need of pachd, emulated or real. */
export interface LocalPachd {
  kind: 'emulator' | 'real';
  /** pachd's HTTP port: REST gateway, /pfs/ downloads, /healthz. */
  url: string;
  grpcAddress: string;
  /** Real pachd only: the root token (the stack's own token is a robot's). */
  rootToken?: string;
}

export interface LocalStack {
  pachd: LocalPachd;
  determined: RunningDeterminedEmulator;
  seldon: RunningSeldonEmulator;
  /** What the worker's environment would say to reach these systems. */
  connections: ConnectionsConfig;
  /** A local git repository holding the example experiment, committed from experiments/shapes. */
  experimentRepo: string;
  close(): Promise<void>;
}

const venvBin = (name: string) => path.join(projectRoot, '.venv', 'bin', name);

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const simulated = opts.mode === 'simulated';
  for (const bin of simulated ? [] : ['python', 'seldon-core-microservice']) {
    if (!fs.existsSync(venvBin(bin))) throw new Error(`${venvBin(bin)} is missing: run scripts/setup.sh first`);
  }
  const password = demoPassword(opts.stateDir);
  const started: { close(): Promise<void> }[] = [];
  try {
    let pachd: LocalPachd;
    let pachdToken: string | undefined;
    if (opts.pachyderm === 'real') {
      const real = await startRealPachd({ stateDir: path.join(opts.stateDir, 'real-pachd'), httpPort: opts.ports?.pachd });
      started.push(real);
      pachdToken = await real.robotToken('continuous-training');
      // The worker mints each experiment's read-only token (PACHD_EXPERIMENT_TOKEN=robot): robotUser on the
      // cluster, plus repoOwner on the input repos, which it has as their creator.
      await new PachdRestClient({ url: real.url, authToken: real.rootToken }).call('auth_v2.API/ModifyRoleBinding', {
        principal: 'robot:continuous-training',
        roles: ['robotUser'],
        resource: { type: 'CLUSTER', name: '' },
      });
      pachd = { kind: 'real', url: real.url, grpcAddress: real.grpcAddress, rootToken: real.rootToken };
    } else {
      pachdToken = opts.pachdAuth ? `pach-${password}` : undefined;
      const emulator = await startPachydermEmulator({
        stateDir: path.join(opts.stateDir, 'pachd'),
        port: opts.ports?.pachd,
        log: opts.log,
        authToken: pachdToken,
      });
      started.push(emulator);
      pachd = { kind: 'emulator', url: emulator.url, grpcAddress: emulator.grpcAddress };
    }
    const determined = await startDeterminedEmulator({
      stateDir: path.join(opts.stateDir, 'determined'),
      port: opts.ports?.determined,
      log: opts.log,
      password,
      runner: simulated ? 'simulated' : 'process',
      python: venvBin('python'),
      delays: { queuedMs: 200, pullingMs: 200, startingMs: 200, ...opts.determinedDelays },
    });
    started.push(determined);
    const seldon = await startSeldonEmulator({
      stateDir: path.join(opts.stateDir, 'seldon'),
      port: opts.ports?.seldon,
      log: opts.log,
      clientSecret: password,
      availableDelayMs: opts.seldonAvailableDelayMs,
      runtimes: simulated ? [] : [
        {
          image: DEMO_SERVING_IMAGE,
          command: [venvBin('seldon-core-microservice'), 'ModelServer', '--service-type', 'MODEL'],
          cwd: path.join(projectRoot, 'serving'),
        },
      ],
      // The serving image's registry credentials, as a Kubernetes secret referenced by the deployment.
      secrets: {
        [`${DEMO_NAMESPACE}/${DEMO_CREDENTIALS_SECRET}`]: { DET_MASTER: determined.url, DET_USER: 'determined', DET_PASSWORD: password },
      },
    });
    started.push(seldon);
    const pachdUrl = new URL(pachd.url);
    const connections: ConnectionsConfig = {
      pachyderm: { url: pachd.url, token: pachdToken, experimentHost: pachd.url, experimentPort: Number(pachdUrl.port) },
      determined: { url: determined.url, user: 'determined', password },
      seldon: { url: seldon.url, oidcIssuer: seldon.oidcServer, clientId: 'sd-api', clientSecret: password },
      timeoutMs: 30_000,
      cacheDir: path.join(opts.stateDir, 'worker-cache'),
    };
    const experimentRepo = commitExperimentRepo(path.join(opts.stateDir, 'experiment-repo'));
    return {
      pachd,
      determined,
      seldon,
      connections,
      experimentRepo,
      close: async () => {
        for (const s of started.reverse()) await s.close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    throw err;
  }
}

/** A random password per state dir: the emulated Determined and Seldon use it, nothing else. */
function demoPassword(stateDir: string): string {
  const file = path.join(stateDir, 'password');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `Ct-${crypto.randomBytes(12).toString('hex')}!`, { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

/** Copies experiments/shapes into a local git repository and commits it when it changed. */
function commitExperimentRepo(dir: string): string {
  const source = path.join(projectRoot, 'experiments', 'shapes');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=ct-demo', '-c', 'user.email=ct-demo@localhost', ...args], { cwd: dir, stdio: 'pipe' });
  if (!fs.existsSync(path.join(dir, '.git'))) {
    fs.mkdirSync(dir, { recursive: true });
    git('init', '-q', '-b', 'main');
  }
  for (const entry of fs.readdirSync(source)) {
    if (entry === '__pycache__') continue;
    fs.cpSync(path.join(source, entry), path.join(dir, entry), { recursive: true });
  }
  git('add', '-A');
  if (git('status', '--porcelain').toString().trim()) git('commit', '-q', '-m', 'example experiment from experiments/shapes');
  return dir;
}
