// Helpers for the tests that run the example experiment and the serving image in the project's venv:
// finding .venv's Python (a missing venv fails under CI=true instead of skipping), running a command
// with a deadline, and a few Pachyderm REST calls to set up repos and commits.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
export const EXPERIMENT_DIR = path.join(ROOT, 'experiments', 'shapes');
export const SERVING_DIR = path.join(ROOT, 'serving');
export const VENV_BIN = path.join(ROOT, '.venv', 'bin');

/** .venv's python, or undefined (the caller skips) when it is missing outside CI. */
export function venvPython(): string | undefined {
  const python = path.join(VENV_BIN, 'python');
  if (fs.existsSync(python)) return python;
  if (process.env.CI === 'true') {
    throw new Error(`${python} is missing under CI=true: run scripts/setup.sh (it creates .venv from requirements-dev.txt)`);
  }
  return undefined;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after timeoutMs); never rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment for venv processes: .venv/bin first on PATH, no inherited CT_* or DET_* settings. */
export function venvEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CT_') && !k.startsWith('DET_') && k !== 'PYTHONPATH') env[k] = v;
  }
  return { ...env, PATH: `${VENV_BIN}:${process.env.PATH ?? ''}`, PYTHONDONTWRITEBYTECODE: '1', ...extra };
}

// ---- Pachyderm REST (pachd's grpc-gateway) -------------------------------------------------------

export interface PachRepo {
  url: string;
  project: string;
  repo: string;
  /** Sent as the authn-token header when pachd has auth enabled. */
  token?: string;
}

function repoJson(r: PachRepo) {
  return { name: r.repo, type: 'user', project: { name: r.project } };
}

async function pachCall(r: PachRepo, method: string, body: unknown, ndjson = false): Promise<unknown> {
  const res = await fetch(`${r.url}/api/pfs_v2.API/${method}`, {
    method: 'POST',
    headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json', ...(r.token ? { 'authn-token': r.token } : {}) },
    body: ndjson ? (body as unknown[]).map((l) => JSON.stringify(l)).join('\n') + '\n' : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status}: ${text}`);
  return text ? JSON.parse(text.split('\n')[0]) : {};
}

export async function createRepo(r: PachRepo): Promise<void> {
  await pachCall(r, 'CreateRepo', { repo: repoJson(r) });
}

/** One finished commit on master that writes `files` (path → content, overwriting) and deletes `deletes`; returns its id. */
export async function commitFiles(r: PachRepo, files: Record<string, string | Buffer>, deletes: string[] = []): Promise<string> {
  const branch = { repo: repoJson(r), name: 'master' };
  const commit = (await pachCall(r, 'StartCommit', { branch })) as { id: string };
  const lines: unknown[] = [{ setCommit: { repo: repoJson(r), id: commit.id, branch } }];
  for (const p of deletes) lines.push({ deleteFile: { path: p } });
  for (const [p, content] of Object.entries(files)) {
    // addFile appends to an existing file: delete first to overwrite, as `pachctl put file` does.
    lines.push({ deleteFile: { path: p } }, { addFile: { path: p, raw: Buffer.from(content).toString('base64') } });
  }
  await pachCall(r, 'ModifyFile', lines, true);
  await pachCall(r, 'FinishCommit', { commit: { repo: repoJson(r), id: commit.id, branch } });
  return commit.id;
}

/** Every file under dir, keyed by its Pachyderm path (/<relative path>). */
export function readTree(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out['/' + path.relative(dir, full).split(path.sep).join('/')] = fs.readFileSync(full);
    }
  };
  walk(dir);
  return out;
}

/** The data.pachyderm section the workflow would fill in. */
export function pachydermDataConfig(r: PachRepo, commit: string, baseCommit = ''): Record<string, string> {
  return { host: r.url, port: '', project: r.project, repo: r.repo, branch: '', commit, base_commit: baseCommit, token: r.token ?? '' };
}

// ---- Determined (the real SDK, through test/python/experiment_pipeline.py) -------------------------

export interface TrainRound {
  experiment_id: number;
  state: string;
  continued_from: string | null;
  checkpoint_uuid?: string;
  version?: number;
  version_name?: string;
  validation?: { avgMetrics?: Record<string, number> };
}

/** One training round as the workflow runs it: experiment (continued when the model has a version), registration. */
export async function trainRound(
  python: string,
  det: { url: string; user: string; password: string },
  model: string,
  pachyderm: Record<string, string>,
): Promise<{ code: number | null; result?: TrainRound; stderr: string }> {
  // The SDK caches its login token under HOME: keep it out of the real home, and remove it afterwards.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-det-home-'));
  const r = await run(python, [path.join(__dirname, 'experiment_pipeline.py'), model, JSON.stringify(pachyderm)], {
    cwd: ROOT,
    env: venvEnv({ DET_MASTER: det.url, DET_USER: det.user, DET_PASSWORD: det.password, HOME: home }),
    timeoutMs: 90_000,
  }).finally(() => fs.rmSync(home, { recursive: true, force: true }));
  const last = r.stdout.trim().split('\n').pop();
  return { code: r.code, result: last ? (JSON.parse(last) as TrainRound) : undefined, stderr: r.stderr };
}

/** Writes batch 1 or 2 of the demo dataset with the experiment's own generator; returns the files by Pachyderm path. */
export async function demoBatch(python: string, batch: 1 | 2, dir: string): Promise<Record<string, Buffer>> {
  const r = await run(python, [path.join(EXPERIMENT_DIR, 'make_dataset.py'), '--batch', String(batch), '--out', dir], { env: venvEnv() });
  if (r.code !== 0) throw new Error(`make_dataset.py failed: ${r.stderr}`);
  return readTree(dir);
}

/** A fresh image of a shape, as the Seldon request body make_dataset.py --probe prints. */
export async function probe(python: string, shape: 'circle' | 'square' | 'triangle'): Promise<unknown> {
  const r = await run(python, [path.join(EXPERIMENT_DIR, 'make_dataset.py'), '--probe', shape], { env: venvEnv() });
  if (r.code !== 0) throw new Error(`make_dataset.py --probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
