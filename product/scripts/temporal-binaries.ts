// Finds the real Temporal servers: the CLI (dev server) and the time-skipping test server.
// Order: TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH, then the project-local venv filled by
// scripts/setup.sh from PyPI, then the SDK's own download (only works with open internet).
import fs from 'node:fs';
import path from 'node:path';

/** The repository's root (where .venv, experiments/ and serving/ are). */
export const projectRoot = path.resolve(__dirname, '..', '..');

export type ServerExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

function find(envVar: string, venvBinary: string): string | undefined {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`${envVar}=${fromEnv} does not exist`);
    return path.resolve(fromEnv);
  }
  const inVenv = path.join(projectRoot, '.venv', 'bin', venvBinary);
  return fs.existsSync(inVenv) ? inVenv : undefined;
}

/** The `temporal` CLI, or undefined when only the SDK download is left. */
export function temporalCliPath(): string | undefined {
  return find('TEMPORAL_CLI_PATH', 'temporal');
}

export function temporalTestServerPath(): string | undefined {
  return find('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server');
}

export function cliExecutable(): ServerExecutable {
  const p = temporalCliPath();
  return p ? { type: 'existing-path', path: p } : { type: 'cached-download' };
}

export function testServerExecutable(): ServerExecutable {
  const p = temporalTestServerPath();
  return p ? { type: 'existing-path', path: p } : { type: 'cached-download' };
}
