// Test harness for the activities: the three emulators in-process on random ports with temp state
// dirs, a ConnectionsConfig pointing at them, and helpers to run activities in a MockActivityEnvironment.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { Info } from '@temporalio/activity';
import { DefaultLogger } from '@temporalio/worker';
import { startPachydermEmulator, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { startDeterminedEmulator, type RunningDeterminedEmulator } from '@continuous-training/emulators/determined';
import { startSeldonEmulator, type RunningSeldonEmulator, type SeldonEmulatorOptions } from '@continuous-training/emulators/seldon/emulator';
import { createActivities } from '../../activities';
import type { ConnectionsConfig } from '../../activities/config';
import type { Activities } from '../../common/activities';

export const PACH_TOKEN = 'test-pach-token';
export const DET_PASSWORD = 'det-secret';
export const SELDON_SECRET = 'sd-api-secret';

export interface Harness {
  tmp: string;
  pachd?: PachydermEmulator;
  determined?: RunningDeterminedEmulator;
  seldon?: RunningSeldonEmulator;
  config: ConnectionsConfig;
  activities: Activities;
  close(): Promise<void>;
}

export interface HarnessOptions {
  pachd?: boolean;
  determined?: boolean;
  seldon?: boolean | Partial<SeldonEmulatorOptions>;
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-activities-test-'));
  const pachd = opts.pachd ? await startPachydermEmulator({ stateDir: path.join(tmp, 'pachd'), authToken: PACH_TOKEN }) : undefined;
  const determined = opts.determined
    ? await startDeterminedEmulator({
        stateDir: path.join(tmp, 'determined'),
        password: DET_PASSWORD,
        delays: { queuedMs: 20, pullingMs: 20, startingMs: 20, runningMs: 200 },
      })
    : undefined;
  const seldon = opts.seldon
    ? await startSeldonEmulator({
        stateDir: path.join(tmp, 'seldon'),
        clientSecret: SELDON_SECRET,
        availableDelayMs: 100,
        ...(typeof opts.seldon === 'object' ? opts.seldon : {}),
      })
    : undefined;
  const config = testConfig(tmp, { pachd: pachd?.url, determined: determined?.url, seldon: seldon?.url });
  return {
    tmp,
    pachd,
    determined,
    seldon,
    config,
    activities: createActivities(config),
    close: async () => {
      await Promise.all([pachd?.close(), determined?.close(), seldon?.close()]);
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export function testConfig(tmp: string, urls: { pachd?: string; determined?: string; seldon?: string }): ConnectionsConfig {
  const closed = 'http://127.0.0.1:9'; // nothing listens there: a system a test did not start
  const seldonUrl = urls.seldon ?? closed;
  return {
    pachyderm: { url: urls.pachd ?? closed, token: PACH_TOKEN, experimentHost: 'pachd.test', experimentPort: 1650 },
    determined: { url: urls.determined ?? closed, user: 'determined', password: DET_PASSWORD },
    seldon: { url: seldonUrl, oidcIssuer: `${seldonUrl}/auth/realms/deploy-realm`, clientId: 'sd-api', clientSecret: SELDON_SECRET },
    timeoutMs: 10_000,
    cacheDir: path.join(tmp, 'cache'),
  };
}

/** Runs one activity in a fresh mock environment (or the given one, e.g. with heartbeat details). */
export function run<K extends keyof Activities>(
  activities: Activities,
  name: K,
  input: Parameters<Activities[K]>[0],
  env: MockActivityEnvironment = mockEnv().env,
): ReturnType<Activities[K]> {
  const fn = activities[name] as (i: typeof input) => ReturnType<Activities[K]>;
  return env.run(fn, input) as ReturnType<Activities[K]>;
}

export function mockEnv(info: Partial<Info> = {}): { env: MockActivityEnvironment; heartbeats: unknown[] } {
  // Expected failures would otherwise be logged as warnings by the mock environment.
  const env = new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return { env, heartbeats };
}

/** Awaits a rejection and checks it is a typed ApplicationFailure; returns it for further checks. */
export async function expectFailure(
  promise: Promise<unknown>,
  type: string,
  opts: { nonRetryable: boolean; message?: RegExp },
): Promise<ApplicationFailure> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  if (!(error instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure of type ${type}, got ${String(error)}`);
  expect({ type: error.type, nonRetryable: error.nonRetryable }).toEqual({ type, nonRetryable: opts.nonRetryable });
  if (opts.message) expect(error.message).toMatch(opts.message);
  return error;
}

/** Creates a git repository with `files` committed on `main`; returns its path and the commit sha. */
export function makeGitRepo(dir: string, files: Record<string, string>): { url: string; sha: string } {
  fs.mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '--quiet', '--initial-branch=main');
  commitFiles(dir, files, 'initial');
  return { url: dir, sha: git('rev-parse', 'HEAD') };
}

export function commitFiles(dir: string, files: Record<string, string>, message: string): string {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('add', '-A');
  git('commit', '--quiet', '-m', message);
  return git('rev-parse', 'HEAD');
}

export const EXPERIMENT_CONFIG = `name: dogcat_single
entrypoint: model_def:DogCatModel
data:
  pachyderm:
    host:
    port:
    repo:
    branch:
    token:
hyperparameters:
  learning_rate: 0.005
  global_batch_size: 32
searcher:
  name: single
  metric: accuracy
  smaller_is_better: false
  max_length:
    batches: 100
resources:
  slots_per_trial: 1
max_restarts: 0
labels: []
`;

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
