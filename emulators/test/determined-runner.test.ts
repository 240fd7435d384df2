// The process runner: a tiny Python entrypoint (written here, not the example experiment) really runs
// with the documented environment; exit codes and kill map to experiment states.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { startDeterminedEmulator, type RunningDeterminedEmulator } from '../determined';

const PYTHON = path.resolve(__dirname, '../../.venv/bin/python');
const hasPython = fs.existsSync(PYTHON);
if (!hasPython && process.env.CI === 'true') throw new Error(`${PYTHON} is missing: run bash scripts/setup.sh`);
const maybe = hasPython ? describe : describe.skip;

const TRAIN_PY = `
import json, os, sys, time
mode = os.environ.get("MODE", "ok")
cfg = json.load(open(os.environ["CT_EXPERIMENT_CONFIG"]))
hp = json.loads(os.environ["CT_HPARAMS"])
data = json.loads(os.environ["CT_DATA_CONFIG"])
print("config", cfg["name"], "lr", hp["learning_rate"], "repo", data["pachyderm"]["repo"], "master", os.environ["DET_MASTER"], flush=True)
if data.get("mode") == "fail":
    print("boom", file=sys.stderr, flush=True)
    sys.exit(3)
if data.get("mode") == "sleep":
    time.sleep(60)
src = os.environ.get("CT_SOURCE_CHECKPOINT_DIR")
weights = 1.0
if src:
    weights = float(open(os.path.join(src, "weights.txt")).read()) / 2
with open(os.environ["CT_METRICS_FILE"], "a") as f:
    f.write(json.dumps({"kind": "training", "steps": 5, "metrics": {"loss": weights}}) + "\\n")
    f.write(json.dumps({"kind": "validation", "steps": 10, "metrics": {"accuracy": 1 - weights / 10}}) + "\\n")
ck = os.environ["CT_CHECKPOINT_DIR"]
open(os.path.join(ck, "weights.txt"), "w").write(str(weights))
print("exp", os.environ["DET_EXPERIMENT_ID"], "trial", os.environ["DET_TRIAL_ID"], "emulator", os.environ["CT_EMULATOR"], flush=True)
`;

maybe('Determined emulator process runner', () => {
  let stateDir: string;
  let emu: RunningDeterminedEmulator;
  let token: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-det-runner-'));
    emu = await startDeterminedEmulator({ stateDir, runner: 'process', python: PYTHON, delays: { queuedMs: 10, pullingMs: 10, startingMs: 10 } });
    const res = await fetch(`${emu.url}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ username: 'determined', password: '' }) });
    token = ((await res.json()) as { token: string }).token;
  });
  afterAll(async () => {
    await emu.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${emu.url}${p}`, { method, headers: { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await res.json()) as Record<string, unknown>;
  };
  const create = async (mode: string, extra: Record<string, unknown> = {}, searcher: Record<string, unknown> = {}) => {
    const config = yaml.dump({
      name: `runner-${mode}`,
      entrypoint: 'python3 train.py',
      hyperparameters: { learning_rate: 0.01 },
      data: { mode, pachyderm: { repo: 'images' } },
      searcher: { name: 'single', metric: 'accuracy', smaller_is_better: false, max_length: { batches: 10 }, ...searcher },
    });
    const modelDefinition = [
      { path: 'code', type: 53, content: '', mtime: 0, mode: 493, uid: 0, gid: 0 },
      { path: 'train.py', type: 48, content: Buffer.from(TRAIN_PY).toString('base64'), mtime: 0, mode: 420, uid: 0, gid: 0 },
    ];
    const res = await call('POST', '/api/v1/experiments', { config, modelDefinition, activate: true, ...extra });
    return res.experiment as { id: number; trialIds: number[] };
  };
  const waitFor = async (id: number, states: string[]) => {
    for (let i = 0; i < 1500; i++) {
      const exp = (await call('GET', `/api/v1/experiments/${id}`)).experiment as { state: string };
      if (states.includes(exp.state)) return exp;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`experiment ${id} never reached ${states.join('/')}`);
  };
  const logs = async (trialId: number) => {
    const res = await fetch(`${emu.url}/api/v1/trials/${trialId}/logs`, { headers: { authorization: `Bearer ${token}` } });
    return (await res.text()).trim().split('\n').map((l) => (JSON.parse(l) as { result: { log: string } }).result.log).join('');
  };

  test('exit 0 → COMPLETED with the checkpoint files and the last validation metrics; continuation gets the source dir', async () => {
    const exp = await create('ok');
    await waitFor(exp.id, ['STATE_COMPLETED', 'STATE_ERROR']);
    const text = await logs(exp.trialIds[0]);
    expect(text).toContain('config runner-ok lr 0.01 repo images master http://127.0.0.1');
    expect(text).toContain(`exp ${exp.id} trial ${exp.trialIds[0]} emulator determined`);
    const ckpts = (await call('GET', `/api/v1/experiments/${exp.id}/checkpoints`)).checkpoints as { uuid: string; resources: Record<string, string>; training: { searcherMetric: number; validationMetrics: { avgMetrics: Record<string, number> } } }[];
    expect(ckpts).toHaveLength(1);
    expect(Object.keys(ckpts[0].resources).sort()).toEqual(['metadata.json', 'weights.txt']);
    expect(ckpts[0].training.searcherMetric).toBeCloseTo(0.9);
    expect(ckpts[0].training.validationMetrics.avgMetrics).toEqual({ accuracy: 0.9 });

    const child = await create('ok', { parentId: exp.id }, { source_checkpoint_uuid: ckpts[0].uuid });
    await waitFor(child.id, ['STATE_COMPLETED', 'STATE_ERROR']);
    const childCk = (await call('GET', `/api/v1/experiments/${child.id}/checkpoints?sortByAttr=SORT_BY_SEARCHER_METRIC`)).checkpoints as { training: { searcherMetric: number } }[];
    expect(childCk[0].training.searcherMetric).toBeCloseTo(0.95);
  });

  test('non-zero exit → ERROR with stderr in the trial logs', async () => {
    const exp = await create('fail');
    expect((await waitFor(exp.id, ['STATE_COMPLETED', 'STATE_ERROR'])).state).toBe('STATE_ERROR');
    expect(await logs(exp.trialIds[0])).toContain('boom');
  });

  test('kill sends SIGTERM → CANCELED', async () => {
    const exp = await create('sleep');
    await waitFor(exp.id, ['STATE_RUNNING']);
    for (let i = 0; i < 200 && !(await logs(exp.trialIds[0])).includes('config runner-sleep'); i++) await new Promise((r) => setTimeout(r, 20));
    await call('POST', `/api/v1/experiments/${exp.id}/kill`);
    expect((await waitFor(exp.id, ['STATE_CANCELED', 'STATE_ERROR', 'STATE_COMPLETED'])).state).toBe('STATE_CANCELED');
  });
});
