// The official Determined Python SDK and `det` CLI (pinned in requirements-dev.txt) against the emulator.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import yaml from 'js-yaml';
import { startDeterminedEmulator, type RunningDeterminedEmulator } from '../determined';

const VENV_BIN = path.resolve(__dirname, '../../.venv/bin');
const PYTHON = path.join(VENV_BIN, 'python');
const DET = path.join(VENV_BIN, 'det');
const hasPython = fs.existsSync(PYTHON);
if (!hasPython && process.env.CI === 'true') throw new Error(`${PYTHON} is missing: run bash scripts/setup.sh`);
const maybe = hasPython ? describe : describe.skip;
const PASSWORD = 'Emulator-Pw-1';

maybe('official determined SDK and CLI against the emulator', () => {
  let stateDir: string;
  let emu: RunningDeterminedEmulator;
  let token: string;
  let experimentId: number;
  let trialId: number;

  const api = async <T>(urlPath: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${emu.url}${urlPath}`, { ...init, headers: { authorization: `Bearer ${token}` } });
    return (await res.json()) as T;
  };

  /** Runs a venv program with its own HOME (the SDK caches tokens there); never rejects on a non-zero exit. */
  const runVenv = (cmd: string, args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const home = fs.mkdtempSync(path.join(stateDir, 'home-'));
      const child = spawn(cmd, args, { env: { ...process.env, HOME: home, DET_MASTER: emu.url, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-det-py-'));
    emu = await startDeterminedEmulator({
      stateDir,
      users: [
        { username: 'determined', password: PASSWORD },
        { username: 'admin', password: PASSWORD, admin: true },
        { username: 'sso-only', password: PASSWORD, remote: true },
        { username: 'retired', password: PASSWORD, active: false },
      ],
      delays: { queuedMs: 5, pullingMs: 5, startingMs: 5, runningMs: 10 },
    });
    const login = await fetch(`${emu.url}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ username: 'determined', password: PASSWORD }) });
    token = ((await login.json()) as { token: string }).token;
    const config = yaml.dump({ name: 'py', entrypoint: 'python3 train.py', searcher: { name: 'single', metric: 'accuracy', smaller_is_better: false, max_length: { batches: 1 } } });
    const created = await api<{ experiment: { id: number; trialIds: number[] } }>('/api/v1/experiments', {
      method: 'POST',
      body: JSON.stringify({ config, activate: true, modelDefinition: [] }),
    });
    experimentId = created.experiment.id;
    trialId = created.experiment.trialIds[0];
    for (let i = 0; i < 500; i++) {
      const { experiment } = await api<{ experiment: { state: string } }>(`/api/v1/experiments/${experimentId}`);
      if (experiment.state === 'STATE_COMPLETED') break;
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  afterAll(async () => {
    await emu.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('login, models and versions, experiment, checkpoint download', async () => {
    const downloads = fs.mkdtempSync(path.join(stateDir, 'download-'));
    const result = await runVenv(PYTHON, [path.resolve(__dirname, 'python/determined_client.py')], {
      DET_USER: 'determined',
      DET_PASS: PASSWORD,
      CT_EXPERIMENT_ID: String(experimentId),
      CT_DOWNLOAD_DIR: downloads,
    });
    expect(result.stdout + result.stderr).toContain('OK');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('downloaded metadata.json,state_dict.pth');
  });

  test('errors as the SDK raises them: 401 UnauthenticatedException, 403 for an inactive user, refused model names, offsets out of bounds', async () => {
    const result = await runVenv(PYTHON, [path.resolve(__dirname, 'python/determined_errors.py')], { DET_PASS: PASSWORD });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(result.stdout).toContain('OK');
  });

  test('det experiment describe and det trial describe show the trial workloads', async () => {
    const { checkpoints } = await api<{ checkpoints: { uuid: string }[] }>(`/api/v1/trials/${trialId}/checkpoints`);
    const env = { DET_USER: 'determined', DET_PASS: PASSWORD };
    const experiment = await runVenv(DET, ['experiment', 'describe', String(experimentId)], env);
    expect({ code: experiment.code, stderr: experiment.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(experiment.stdout).toMatch(/Checkpoint State/);
    expect(experiment.stdout).toMatch(/\|\s*COMPLETED\s*\|/); // the checkpoint row's state
    const trial = await runVenv(DET, ['trial', 'describe', String(trialId)], env);
    expect({ code: trial.code, stderr: trial.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(trial.stdout).toContain(checkpoints[0].uuid);
  });

  test('det trial logs --tail 2 prints the last two lines, in order', async () => {
    const res = await fetch(`${emu.url}/api/v1/trials/${trialId}/logs`, { headers: { authorization: `Bearer ${token}` } });
    const lines = (await res.text()).trim().split('\n').map((l) => (JSON.parse(l) as { result: { message: string } }).result.message);
    expect(lines.length).toBeGreaterThan(2);
    const tail = await runVenv(DET, ['trial', 'logs', String(trialId), '--tail', '2'], { DET_USER: 'determined', DET_PASS: PASSWORD });
    expect(tail.code).toBe(0);
    // The CLI then adds its own "Trial log stream ended" line.
    const expected = lines.slice(-2).join('');
    expect(tail.stdout.slice(0, expected.length)).toBe(expected);
  });
});
