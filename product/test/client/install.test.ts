// `ct` is an installable command: the packed product (npm pack, which builds it) installs into an empty
// prefix as a user's `npm install -g` would, and runs there on plain node, with nothing of the repository.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const product = path.join(__dirname, '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-install-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('npm pack gives a tarball that installs a working `ct` on PATH', () => {
  const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // prepack builds the product; what the build prints comes before the JSON.
  const packOutput = npm(['pack', '--json', '--pack-destination', work], product);
  const packed = JSON.parse(packOutput.slice(packOutput.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  const files = packed[0].files.map((f) => f.path);
  // The compiled product and nothing of its sources, tests or of the rest of the repository.
  expect(files).toContain('build/client/cli.js');
  expect(files).toContain('build/worker/main.js');
  expect(files).toContain('build/workflow-bundle.js');
  expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  expect(files.filter((f) => /(^|\/)(test|emulators|stack|bench)\//.test(f))).toEqual([]);

  const prefix = path.join(work, 'prefix');
  npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(work, packed[0].filename)], work);
  const ct = path.join(prefix, 'bin', 'ct');
  const env = { PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: work };
  const version = (JSON.parse(fs.readFileSync(path.join(product, 'package.json'), 'utf8')) as { version: string }).version;
  expect(execFileSync('ct', ['--version'], { cwd: work, env, encoding: 'utf8' }).trim()).toBe(version);
  expect(execFileSync(ct, ['--help'], { cwd: work, env, encoding: 'utf8' })).toContain('Usage: ct <command>');
  // Only the product's own dependencies came along: no emulator, test or TypeScript tooling.
  const installed = fs.readdirSync(path.join(prefix, 'lib', 'node_modules', 'continuous-training', 'node_modules'));
  for (const devOnly of ['tsx', 'typescript', 'jest', 'yazl', '@grpc/proto-loader']) expect(installed).not.toContain(devOnly);
}, 300_000);
