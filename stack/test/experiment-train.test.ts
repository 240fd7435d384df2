// The example experiment trained for real, on CPU, by the Determined emulator's process runner: batch 1 of the
// demo dataset from scratch, then batch 2 continued from the registered version's checkpoint, then an empty
// commit, which must end the experiment in ERROR. Driven with the real `determined` SDK, data from the
// Pachyderm emulator.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPachydermEmulator, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { startDeterminedEmulator, type RunningDeterminedEmulator } from '@continuous-training/emulators/determined';
import { commitFiles, createRepo, demoBatch, pachydermDataConfig, trainRound, venvPython, type PachRepo } from './python/experiment-support';

const python = venvPython();
const maybe = python ? describe : describe.skip;
const FAST = { queuedMs: 20, pullingMs: 20, startingMs: 20 };

maybe('example experiment under the Determined emulator (process runner)', () => {
  let tmp: string;
  let pachd: PachydermEmulator;
  let det: RunningDeterminedEmulator;
  let repo: PachRepo;
  let detLogin: { url: string; user: string; password: string };
  const commits: Record<string, string> = {};

  /** The checkpoint's files as the master stored them. */
  function checkpointFile(uuid: string, file: string): string {
    const ckpt = det.store.checkpoint(uuid);
    if (!ckpt) throw new Error(`no checkpoint ${uuid}`);
    return fs.readFileSync(path.join(det.stateDir, ckpt.dir, file), 'utf8');
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-experiment-train-'));
    pachd = await startPachydermEmulator({ stateDir: path.join(tmp, 'pachd') });
    det = await startDeterminedEmulator({ stateDir: path.join(tmp, 'det'), runner: 'process', python, password: 'det-test-pw', delays: FAST });
    detLogin = { url: det.url, user: 'determined', password: 'det-test-pw' };
    repo = { url: pachd.url, project: 'default', repo: 'shapes' };
    await createRepo(repo);
    const batch1 = await demoBatch(python as string, 1, path.join(tmp, 'batch1'));
    commits.batch1 = await commitFiles(repo, batch1);
    commits.batch2 = await commitFiles(repo, await demoBatch(python as string, 2, path.join(tmp, 'batch2')));
    commits.empty = await commitFiles(repo, {}, ['/data/square/011.pgm']);
    // A zero-byte image and a truncated one beside readable images (issue 19: one bad file blocked every training).
    const [good1, good2] = Object.entries(batch1).filter(([p]) => p.startsWith('/data/circle/'));
    commits.poisoned = await commitFiles(repo, {
      '/data/circle/zero.pgm': Buffer.alloc(0),
      '/data/square/truncated.pgm': good2[1].subarray(0, 20),
      '/data/circle/again-1.pgm': good1[1],
      '/data/circle/again-2.pgm': good2[1],
    });
  });

  afterAll(async () => {
    await det?.close();
    await pachd?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  let first: string;

  it('trains batch 1 from scratch and reports metrics and a checkpoint', async () => {
    const { code, result, stderr } = await trainRound(python as string, detLogin, 'shapes', pachydermDataConfig(repo, commits.batch1));
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(result).toMatchObject({ state: 'STATE_COMPLETED', continued_from: null, version: 1, version_name: commits.batch1 });
    first = result?.checkpoint_uuid as string;

    const info = JSON.parse(checkpointFile(first, 'model.json'));
    expect(info).toMatchObject({ continued: false, batches_trained: 60, trained_on: { repo: 'shapes', commit: commits.batch1, files: 24 } });
    expect(checkpointFile(first, 'code/shapes_model.py')).toContain('def load_predictor');
    // The process's metrics reached the master: training losses, then the searcher metric.
    const trial = det.store.trial(det.store.experiment(result?.experiment_id as number)?.trialIds[0] as number);
    expect(trial?.trainingMetrics.length).toBeGreaterThan(1);
    expect(trial?.validationMetrics.at(-1)?.metrics).toEqual({ accuracy: expect.any(Number), validation_loss: expect.any(Number) });
  });

  it('continues from the registered checkpoint on batch 2 (only its new and updated files)', async () => {
    const { code, result, stderr } = await trainRound(python as string, detLogin, 'shapes', pachydermDataConfig(repo, commits.batch2));
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(result).toMatchObject({ state: 'STATE_COMPLETED', continued_from: first, version: 2, version_name: commits.batch2 });
    const info = JSON.parse(checkpointFile(result?.checkpoint_uuid as string, 'model.json'));
    // 36 new delta images + 2 re-scanned batch-1 images; 60 more batches on top of the first 60.
    expect(info).toMatchObject({ continued: true, batches_trained: 120, trained_on: { commit: commits.batch2, files: 38 } });
    expect(info.validation.accuracy).toBeGreaterThanOrEqual(0.8);
  });

  it('skips and reports unreadable images (zero-byte, truncated) instead of failing the trial', async () => {
    const { code, result, stderr } = await trainRound(python as string, detLogin, 'shapes', pachydermDataConfig(repo, commits.poisoned));
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(result).toMatchObject({ state: 'STATE_COMPLETED', version: 3 });
    const info = JSON.parse(checkpointFile(result?.checkpoint_uuid as string, 'model.json'));
    expect(info.trained_on.files).toBe(2);
    expect(info.trained_on.skipped).toEqual([
      { path: '/data/circle/zero.pgm', error: 'not a PGM image (expected a P2 or P5 header)' },
      { path: '/data/square/truncated.pgm', error: expect.stringMatching(/truncated|invalid|index|not a PGM/i) },
    ]);
  });

  it('ends in ERROR, with the reason in the trial logs, when the commit has no new files', async () => {
    const { code, result, stderr } = await trainRound(python as string, detLogin, 'shapes', pachydermDataConfig(repo, commits.empty));
    expect(code).toBe(1);
    expect(result?.state).toBe('STATE_ERROR');
    expect(stderr).toContain('ERROR: no new data');
    // No new version was registered.
    expect(det.store.state.modelVersions.map((v) => v.name)).toEqual([commits.batch1, commits.batch2, commits.poisoned]);
  });
});
