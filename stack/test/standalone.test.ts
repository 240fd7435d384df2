// The repository stands alone: a clone anywhere works, with nothing beside it. No tracked file may point at
// a folder outside the repository (the reference material the project was built from sits beside the
// developers' clones, and no user has it). CI proves the rest: .ci/run tests a clone made in an empty folder.
import { execFileSync, spawnSync } from 'node:child_process';
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

describe('the workspace boundaries are enforced by the lint (eslint.config.mjs)', () => {
  const use = (name: string) => `export const used = [${name}];\n`;
  // [place in the repository, code, refused?]: the rules apply by path.
  const probes: [string, string, boolean][] = [
    ['product/activities', `import { startPachydermEmulator } from '@continuous-training/emulators/pachyderm';\n${use('startPachydermEmulator')}`, true],
    ['product/client', `import { startLocalStack } from '@continuous-training/stack/local-stack';\n${use('startLocalStack')}`, true],
    ['product/worker', `import { runMain } from '../../bench/lib/harness';\n${use('runMain')}`, true],
    ['product/workflows', `import { putFiles } from '@continuous-training/emulators/pachyderm/client';\n${use('putFiles')}`, true],
    ['emulators/pachyderm', `import { PachydermClient } from 'continuous-training/activities/pachyderm/client';\n${use('PachydermClient')}`, true],
    ['product/common', `import { DeploymentState } from '@continuous-training/api-types/seldon';\n${use('DeploymentState')}`, true],
    ['product/test', `import { startPachydermEmulator } from '@continuous-training/emulators/pachyderm';\n${use('startPachydermEmulator')}`, false],
    ['stack', `import { PachydermClient } from 'continuous-training/activities/pachyderm/client';\n${use('PachydermClient')}`, false],
    ['product/activities', `import type { CommitState } from '@continuous-training/api-types/pachyderm';\nexport type S = CommitState;\n`, false],
  ];
  let found: Record<string, number>;

  beforeAll(() => {
    // ESLint's config is an ES module, which jest cannot load: lint real files, in one run of the CLI.
    const files = probes.map(([dir], i) => path.join(root, dir, `lint-probe-${process.pid}-${i}.ts`));
    try {
      probes.forEach(([, code], i) => fs.writeFileSync(files[i], code));
      const r = spawnSync(path.join(root, 'node_modules', '.bin', 'eslint'), ['--format', 'json', ...files], { cwd: root, encoding: 'utf8' });
      const results = JSON.parse(r.stdout) as { filePath: string; messages: { ruleId: string | null }[] }[];
      found = Object.fromEntries(results.map((x) => [x.filePath, x.messages.filter((m) => m.ruleId === 'no-restricted-imports').length]));
      found = Object.fromEntries(files.map((f, i) => [probes[i][0] + ': ' + probes[i][1].split('\n')[0], found[f] ?? -1]));
    } finally {
      for (const f of files) fs.rmSync(f, { force: true });
    }
  }, 120_000);

  test('a product import of the emulators, the stack or the benchmarks, an emulator import of the product, a value import of the shared types: refused; the rest allowed', () => {
    expect(found).toEqual(Object.fromEntries(probes.map(([dir, code, refused]) => [dir + ': ' + code.split('\n')[0], refused ? 1 : 0])));
  });
});

describe('Node.js: a maintained LTS line, and CI tests the oldest one supported', () => {
  const enginesMin = (file: string) => Number(/^>=(\d+)$/.exec((JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as { engines: { node: string } }).engines.node)?.[1]);

  test('every package supports the same lines, and the images use a supported LTS line (even major)', () => {
    const mins = ['package.json', 'product/package.json', 'emulators/package.json', 'stack/package.json', 'bench/package.json'].map(enginesMin);
    expect(new Set(mins)).toEqual(new Set([22]));
    for (const dockerfile of ['Dockerfile', 'emulators/Dockerfile']) {
      const major = Number(/FROM node:(\d+)-/.exec(fs.readFileSync(path.join(root, dockerfile), 'utf8'))?.[1]);
      expect({ dockerfile, lts: major % 2 === 0 && major >= mins[0] }).toEqual({ dockerfile, lts: true });
    }
  });

  test('the tests run on a supported Node.js (scripts/node-env.sh provides one when the machine has an older one)', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(enginesMin('package.json'));
  });

  (process.env.CT_NODE_OLDEST === '1' ? test : test.skip)('under CI (CT_NODE_OLDEST=1) the tests run on the oldest supported line', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(enginesMin('package.json'));
  });
});
