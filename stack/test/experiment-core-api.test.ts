// The training code's Core API path (what runs on a real Determined cluster) with the real `determined` Core API
// objects in their off-cluster form: train from scratch, then continue from the stored checkpoint.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { startPachydermEmulator, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { EXPERIMENT_DIR, ROOT, commitFiles, createRepo, demoBatch, pachydermDataConfig, run, venvEnv, venvPython, type PachRepo } from './python/experiment-support';

const python = venvPython();
const maybe = python ? describe : describe.skip;

maybe('example experiment through the Determined Core API (off-cluster core context)', () => {
  let tmp: string;
  let pachd: PachydermEmulator;
  let repo: PachRepo;
  const commits: string[] = [];

  async function trainWithCoreApi(commit: string, source?: string): Promise<string> {
    const config = yaml.load(fs.readFileSync(path.join(EXPERIMENT_DIR, 'const.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    config.data.pachyderm = pachydermDataConfig(repo, commit);
    const storage = path.join(tmp, 'storage');
    const args = [path.join(__dirname, 'python', 'experiment_core_api.py'), storage, JSON.stringify(config), ...(source ? [source] : [])];
    // HOME: the off-cluster core context may write under the user's data dir; keep that in the temp dir.
    const r = await run(python as string, args, { cwd: ROOT, env: venvEnv({ HOME: tmp }) });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const { storage_id: id } = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { storage_id: string };
    return id;
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-experiment-core-'));
    pachd = await startPachydermEmulator({ stateDir: path.join(tmp, 'pachd') });
    repo = { url: pachd.url, project: 'default', repo: 'shapes' };
    await createRepo(repo);
    for (const batch of [1, 2] as const) commits.push(await commitFiles(repo, await demoBatch(python as string, batch, path.join(tmp, `b${batch}`))));
  });

  afterAll(async () => {
    await pachd?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('stores a checkpoint with store_path, then continues from it with restore_path', async () => {
    const first = await trainWithCoreApi(commits[0]);
    const info1 = JSON.parse(fs.readFileSync(path.join(tmp, 'storage', first, 'model.json'), 'utf8'));
    expect(info1).toMatchObject({ continued: false, batches_trained: 60, trained_on: { commit: commits[0], files: 24 } });
    // store_path adds Determined's own metadata.json next to ours.
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'storage', first, 'metadata.json'), 'utf8'))).toMatchObject({ steps_completed: 60 });

    const second = await trainWithCoreApi(commits[1], first);
    const info2 = JSON.parse(fs.readFileSync(path.join(tmp, 'storage', second, 'model.json'), 'utf8'));
    expect(info2).toMatchObject({ continued: true, batches_trained: 120, trained_on: { commit: commits[1], files: 38 } });
  });
});
