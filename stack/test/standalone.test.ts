// The repository stands alone: a clone anywhere works, with nothing beside it. No tracked file may point at
// a folder outside the repository (the reference material the project was built from sits beside the
// developers' clones, and no user has it). CI proves the rest: .ci/run tests a clone made in an empty folder.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { API_SPECS_DIR } from '@continuous-training/emulators/common/specs';

const root = path.resolve(__dirname, '..', '..');
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);

// Built from parts so that this file does not match itself.
const outside = new RegExp(['\\.\\./', 'shared', '\\b|/work/', 'shared|', 'shared', '/api-specs'].join(''));

test('no tracked file refers to a shared/ folder beside the project', () => {
  expect(tracked.length).toBeGreaterThan(100);
  const offenders = tracked.filter((file) => {
    const full = path.join(root, file);
    if (!fs.existsSync(full) || fs.statSync(full).size > 5_000_000) return false;
    return outside.test(fs.readFileSync(full, 'utf8'));
  });
  expect(offenders).toEqual([]);
});

test('the check finds such a reference (it can fail)', () => {
  expect(outside.test(`path.resolve(__dirname, '../../../${'shared'}/api-specs')`)).toBe(true);
  expect(outside.test('a shared_fs checkpoint storage')).toBe(false);
});

test('the API specs the emulators read are vendored in the repository, each set with its SOURCE.md', () => {
  expect(path.relative(root, API_SPECS_DIR)).toBe(path.join('emulators', 'specs'));
  const sets = fs.readdirSync(API_SPECS_DIR).filter((d) => fs.statSync(path.join(API_SPECS_DIR, d)).isDirectory());
  expect(sets.sort()).toEqual(['determined', 'pachyderm', 'seldon-core', 'seldon-deploy']);
  for (const set of sets) {
    const source = fs.readFileSync(path.join(API_SPECS_DIR, set, 'SOURCE.md'), 'utf8');
    expect(source).toMatch(/Licence[^\n]*: Apache-2\.0/);
    expect(source).toMatch(/[0-9a-f]{40}/); // the upstream commit
  }
  for (const file of tracked.filter((f) => f.startsWith('emulators/specs/'))) expect(fs.existsSync(path.join(root, file))).toBe(true);
});
