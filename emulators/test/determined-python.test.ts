// The official Determined Python SDK (pinned in requirements-dev.txt) against the emulator.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import yaml from 'js-yaml';
import { startDeterminedEmulator, type RunningDeterminedEmulator } from '../determined';

const PYTHON = path.resolve(__dirname, '../../.venv/bin/python');
const SCRIPT = path.resolve(__dirname, 'python/determined_client.py');
const hasPython = fs.existsSync(PYTHON);
if (!hasPython && process.env.CI === 'true') throw new Error(`${PYTHON} is missing: run bash scripts/setup.sh`);
const maybe = hasPython ? describe : describe.skip;

maybe('official determined SDK against the emulator', () => {
  let stateDir: string;
  let emu: RunningDeterminedEmulator;
  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-det-py-'));
    emu = await startDeterminedEmulator({ stateDir, password: 'Emulator-Pw-1', delays: { queuedMs: 5, pullingMs: 5, startingMs: 5, runningMs: 10 } });
  });
  afterAll(async () => {
    await emu.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('login, models and versions, experiment, checkpoint download', async () => {
    const login = await fetch(`${emu.url}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ username: 'determined', password: 'Emulator-Pw-1' }) });
    const token = ((await login.json()) as { token: string }).token;
    const config = yaml.dump({ name: 'py', entrypoint: 'python3 train.py', searcher: { name: 'single', metric: 'accuracy', smaller_is_better: false, max_length: { batches: 1 } } });
    const created = await fetch(`${emu.url}/api/v1/experiments`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ config, activate: true, modelDefinition: [] }) });
    const id = ((await created.json()) as { experiment: { id: number } }).experiment.id;
    for (let i = 0; i < 500; i++) {
      const res = await fetch(`${emu.url}/api/v1/experiments/${id}`, { headers: { authorization: `Bearer ${token}` } });
      if (((await res.json()) as { experiment: { state: string } }).experiment.state === 'STATE_COMPLETED') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const home = path.join(stateDir, 'home');
    fs.mkdirSync(home);
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(PYTHON, [SCRIPT], {
        env: { ...process.env, HOME: home, DET_MASTER: emu.url, DET_USER: 'determined', DET_PASS: 'Emulator-Pw-1', CT_EXPERIMENT_ID: String(id), CT_DOWNLOAD_DIR: stateDir },
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(result.out).toContain('OK');
    expect(result.code).toBe(0);
    expect(result.out).toContain('downloaded metadata.json,state_dict.pth');
  });
});
