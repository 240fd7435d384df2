// The experiment-code cache shared by several workers (one volume, or the default temp dir): concurrent
// fetches of the same repository from separate caches on one directory all resolve, to the right commit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ExperimentCodeCache } from '../../activities/git/code-cache';
import { commitFiles, makeGitRepo } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-git-cache-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('two caches on one directory resolve eight concurrent fetches of two refs correctly', async () => {
  const repo = makeGitRepo(path.join(dir, 'repo'), { 'exp/const.yaml': 'name: a\n' });
  execFileSync('git', ['branch', 'stable'], { cwd: repo.url });
  const mainSha = commitFiles(repo.url, { 'exp/const.yaml': 'name: b\n' }, 'second');
  const stableSha = repo.sha;
  const shared = path.join(dir, 'cache');
  const caches = [new ExperimentCodeCache(shared), new ExperimentCodeCache(shared)];
  const source = { gitUrl: repo.url, ref: 'main', path: 'exp', configFile: 'const.yaml' };
  const refs = ['main', 'stable', 'main', 'stable', 'main', 'stable', 'main', 'stable'];
  const shas = await Promise.all(refs.map((ref, i) => caches[i % 2].resolve({ ...source, ref }, ref)));
  expect(shas).toEqual(refs.map((ref) => (ref === 'main' ? mainSha : stableSha)));
  const dirs = await Promise.all(shas.map((sha, i) => caches[i % 2].checkout(source, sha)));
  expect(fs.readFileSync(path.join(dirs[0], 'const.yaml'), 'utf8')).toBe('name: b\n');
  expect(fs.readFileSync(path.join(dirs[1], 'const.yaml'), 'utf8')).toBe('name: a\n');
});

test('four workers fetching eleven commits at once, three times over: every shallow fetch resolves, none fails on another one', async () => {
  // Concurrent shallow fetches into one bare repository rewrite its `shallow` file under each other
  // ("shallow file has changed since we read it"): that is contention, waited out like git's lock files.
  const repo = makeGitRepo(path.join(dir, 'many'), { 'exp/const.yaml': 'name: 0\n' });
  const commits = [repo.sha];
  for (let i = 1; i <= 10; i++) commits.push(commitFiles(repo.url, { 'exp/const.yaml': `name: ${i}\n` }, `commit ${i}`));
  const source = { gitUrl: repo.url, ref: 'main', path: 'exp', configFile: 'const.yaml' };
  const wanted = Array.from({ length: 40 }, (_, i) => commits[i % commits.length]);
  for (const round of [1, 2, 3]) {
    const shared = path.join(dir, `cache-many-${round}`);
    const workers = [0, 1, 2, 3].map(() => new ExperimentCodeCache(shared));
    const results = await Promise.allSettled(wanted.map((sha, i) => workers[i % 4].resolve(source, sha)));
    expect([round, results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))]).toEqual([round, wanted]);
  }
});
