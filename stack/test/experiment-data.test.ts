// The example experiment's data code (experiments/shapes/pachyderm_data.py, in .venv's Python) against the
// Pachyderm emulator: it must select exactly the files a commit added or modified (not deleted, unchanged
// or directories), against the parent or a given base commit, download them, and fail on no new files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPachydermEmulator, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { EXCLUDE_CASES } from 'continuous-training/test/common/path-filter-cases';
import { createClients } from 'continuous-training/activities/clients';
import { experimentPachdToken } from 'continuous-training/activities/experiment-token';
import { EXPERIMENT_DIR, commitFiles, createRepo, pachydermDataConfig, run, venvEnv, venvPython, type PachRepo } from './python/experiment-support';

const python = venvPython();

/** Exit 0, or a failure that shows the process's stderr. */
function expectOk(r: { code: number | null; stderr: string }): void {
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
}
const maybe = python ? describe : describe.skip;

maybe('experiment data selection (Pachyderm DiffFile over REST)', () => {
  let tmp: string;
  let pachd: PachydermEmulator;
  let repo: PachRepo;
  const commits: Record<string, string> = {};

  /** Runs the data module on a commit; returns its exit code, the paths it printed and the download dir. */
  async function select(commit: string, baseCommit = '') {
    const dest = fs.mkdtempSync(path.join(tmp, 'dl-'));
    const cfg = JSON.stringify(pachydermDataConfig(repo, commit, baseCommit));
    const r = await run(python as string, ['pachyderm_data.py', cfg, dest], { cwd: EXPERIMENT_DIR, env: venvEnv() });
    const paths = r.code === 0 ? (JSON.parse(r.stdout) as string[]) : [];
    return { ...r, paths, dest };
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-experiment-data-'));
    // Auth on: the data code must send the token it is given.
    pachd = await startPachydermEmulator({ stateDir: path.join(tmp, 'pachd'), authToken: 'pach-test-token' });
    repo = { url: pachd.url, project: 'default', repo: 'shapes-data', token: 'pach-test-token' };
    await createRepo(repo);
    commits.first = await commitFiles(repo, {
      '/keep.txt': 'unchanged',
      '/dir/changed.txt': 'v1',
      '/dir/gone.txt': 'to be deleted',
      '/dir/sub/also-kept.txt': 'unchanged too',
    });
    commits.second = await commitFiles(
      repo,
      { '/keep.txt': 'unchanged', '/dir/changed.txt': 'v2', '/dir/new.txt': 'added', '/dir/sub/deep/added.txt': 'added deep' },
      ['/dir/gone.txt'],
    );
    commits.third = await commitFiles(repo, { '/third.txt': 'added later' });
    commits.deleteOnly = await commitFiles(repo, {}, ['/third.txt']);
  });

  afterAll(async () => {
    await pachd?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('selects the added and modified files against the parent commit, and downloads exactly those', async () => {
    const r = await select(commits.second);
    expectOk(r);
    expect(r.stderr).toContain('3 new or updated files');
    expect(r.paths.sort()).toEqual(['/dir/changed.txt', '/dir/new.txt', '/dir/sub/deep/added.txt']);
    expect(fs.readFileSync(path.join(r.dest, 'dir/changed.txt'), 'utf8')).toBe('v2');
    expect(fs.readFileSync(path.join(r.dest, 'dir/sub/deep/added.txt'), 'utf8')).toBe('added deep');
    // Nothing else was downloaded: not the unchanged, not the deleted file.
    expect(fs.existsSync(path.join(r.dest, 'keep.txt'))).toBe(false);
    expect(fs.existsSync(path.join(r.dest, 'dir/gone.txt'))).toBe(false);
  });

  it('diffs against base_commit when given (changes of several commits at once)', async () => {
    const r = await select(commits.third, commits.first);
    expectOk(r);
    expect(r.paths.sort()).toEqual(['/dir/changed.txt', '/dir/new.txt', '/dir/sub/deep/added.txt', '/third.txt']);
  });

  it('takes every file of the first commit (no parent)', async () => {
    const r = await select(commits.first);
    expectOk(r);
    expect(r.paths.sort()).toEqual(['/dir/changed.txt', '/dir/gone.txt', '/dir/sub/also-kept.txt', '/keep.txt']);
  });

  it('takes every file of a later commit with all_files (a first training over coalesced commits)', async () => {
    const dest = fs.mkdtempSync(path.join(tmp, 'dl-'));
    const cfg = JSON.stringify({ ...pachydermDataConfig(repo, commits.third), all_files: true });
    const r = await run(python as string, ['pachyderm_data.py', cfg, dest], { cwd: EXPERIMENT_DIR, env: venvEnv() });
    expectOk(r);
    expect(r.stderr).toContain('against nothing (every file)');
    expect((JSON.parse(r.stdout) as string[]).sort()).toEqual([
      '/dir/changed.txt',
      '/dir/new.txt',
      '/dir/sub/also-kept.txt',
      '/dir/sub/deep/added.txt',
      '/keep.txt',
      '/third.txt',
    ]);
    expect(fs.readFileSync(path.join(dest, 'keep.txt'), 'utf8')).toBe('unchanged');
  });

  it('fails clearly when a commit adds or changes no file (only deletions)', async () => {
    const r = await select(commits.deleteOnly);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/NoNewDataError: commit [0-9a-f]{32} of default\/shapes-data adds or changes no file/);
  });

  it('leaves out the paths matching data.pachyderm.exclude, and says how many', async () => {
    const dest = fs.mkdtempSync(path.join(tmp, 'dl-'));
    const cfg = JSON.stringify({ ...pachydermDataConfig(repo, commits.second), exclude: ['/dir/sub', '/dir/new.txt'] });
    const r = await run(python as string, ['pachyderm_data.py', cfg, dest], { cwd: EXPERIMENT_DIR, env: venvEnv() });
    expectOk(r);
    expect(JSON.parse(r.stdout)).toEqual(['/dir/changed.txt']);
    expect(r.stderr).toContain('1 new or updated files');
    expect(r.stderr).toContain('(2 excluded by /dir/sub, /dir/new.txt)');
    expect(fs.existsSync(path.join(dest, 'dir/new.txt'))).toBe(false);
  });

  it("matches exclude patterns exactly as the product's diff does (common/path-filter.ts)", async () => {
    const script = [
      'import json, sys',
      'from pachyderm_data import excluder',
      'print(json.dumps([excluder([p])(f) for p, f, _ in json.loads(sys.argv[1])]))',
    ].join('\n');
    const r = await run(python as string, ['-c', script, JSON.stringify(EXCLUDE_CASES)], { cwd: EXPERIMENT_DIR, env: venvEnv() });
    expectOk(r);
    expect(JSON.parse(r.stdout)).toEqual(EXCLUDE_CASES.map(([, , excluded]) => excluded));
  });

  it('fails when the token is wrong (auth errors are not "no data")', async () => {
    const dest = fs.mkdtempSync(path.join(tmp, 'dl-'));
    const cfg = JSON.stringify({ ...pachydermDataConfig(repo, commits.second), token: 'wrong' });
    const r = await run(python as string, ['pachyderm_data.py', cfg, dest], { cwd: EXPERIMENT_DIR, env: venvEnv() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('DiffFile failed: HTTP 401');
  });

  // Issue 19.11: the experiment's token is the read-only robot token the worker mints (experimentPachdToken).
  it("works with the robot token the worker mints for the input repo, which reads nothing else", async () => {
    const clients = createClients({
      pachyderm: { url: pachd.url, token: 'pach-test-token', experimentHost: pachd.url, experimentPort: 0 },
      determined: { url: 'http://127.0.0.1:9', user: 'determined', password: '' },
      seldon: { url: 'http://127.0.0.1:9', oidcIssuer: 'http://127.0.0.1:9', clientId: 'sd-api', clientSecret: 'x' },
      timeoutMs: 10_000,
      cacheDir: path.join(tmp, 'cache'),
    });
    const token = await experimentPachdToken(clients, { inputRepo: { project: 'default', repo: 'shapes-data', branch: 'master' }, trainingTimeout: '1h' });
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const data = (r: PachRepo, commit: string, env: Record<string, string> = {}) => {
      const dest = fs.mkdtempSync(path.join(tmp, 'dl-'));
      return run(python as string, ['pachyderm_data.py', JSON.stringify(pachydermDataConfig(r, commit)), dest], { cwd: EXPERIMENT_DIR, env: venvEnv(env) });
    };

    const ok = await data({ ...repo, token }, commits.second);
    expectOk(ok);
    expect((JSON.parse(ok.stdout) as string[]).sort()).toEqual(['/dir/changed.txt', '/dir/new.txt', '/dir/sub/deep/added.txt']);

    const other: PachRepo = { ...repo, repo: 'not-the-input' };
    await createRepo(other);
    const otherCommit = await commitFiles(other, { '/secret.txt': 'private' });
    const refused = await data({ ...other, token }, otherCommit);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('DiffFile failed: HTTP 403');
    expect(refused.stderr).toContain('robot:ct-reader/default/shapes-data is not authorized');

    // PACHD_EXPERIMENT_TOKEN=none: no token in the config, the trial's environment brings one.
    expectOk(await data({ ...repo, token: '' }, commits.second, { PACHD_TOKEN: String(token) }));
  });
});
