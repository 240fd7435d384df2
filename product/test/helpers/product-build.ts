// The product compiled as it ships (tsconfig.build.json, the `ct` bin and the image's worker), built once
// per test run by globalSetup. Tests that start `ct` or worker processes run it on plain node: what users
// and the image run, and about 1 CPU-second less per process than the sources through tsx's loader (which
// the suite's hundred-odd processes paid on 2 cores).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const VARIABLE = 'CT_TEST_PRODUCT_BUILD';
const productDir = path.join(__dirname, '..', '..');

/** The build's folder (its layout is the package's build/: client/cli.js, worker/main.js). */
export function productBuildPath(): string {
  const dir = process.env[VARIABLE];
  if (!dir || !fs.existsSync(path.join(dir, 'client', 'cli.js'))) {
    throw new Error(`${VARIABLE} is ${dir ? `${dir}, which holds no build` : 'not set'}: run the tests through jest.config.js (its globalSetup builds the product)`);
  }
  return dir;
}

/** `ct` as installed: node and the compiled CLI, before the command's arguments. */
export function ctCommandLine(): [string, string] {
  return [process.execPath, path.join(productBuildPath(), 'client', 'cli.js')];
}

/** The compiled worker's entry point (`npm run worker:compiled`, the image's CMD). */
export function compiledWorkerMain(): string {
  return path.join(productBuildPath(), 'worker', 'main.js');
}

/**
 * jest globalSetup: compiles the product into a folder of its own beside the package's build/, as deep (so
 * that node_modules and the package.json `ct --version` reads resolve as from build/), and apart from it
 * (install.test rebuilds build/ while other files run).
 */
export async function buildProductForTests(): Promise<void> {
  const out = fs.mkdtempSync(path.join(productDir, '.test-build-'));
  const tsc = require.resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', path.join(productDir, 'tsconfig.build.json'), '--outDir', out]).catch((err: { stdout?: string; message: string }) => {
    throw new Error(`building the product for the tests failed: ${err.stdout || err.message}`);
  });
  process.env[VARIABLE] = out;
}

export function removeProductBuild(): void {
  const dir = process.env[VARIABLE];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
