// A real browser for UI tests: Debian's chromium (installed by scripts/setup.sh) driven by playwright-core,
// and a Temporal dev server with its web UI. Without chromium a UI test is skipped, except under CI=true,
// where it must fail (a green CI must not hide a missing install step).
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { cliExecutable } from 'continuous-training/scripts/temporal-binaries';
import { ALL_SEARCH_ATTRIBUTES } from 'continuous-training/common/search-attributes';

export const CHROMIUM_PATH = '/usr/bin/chromium';

// Headless and quiet: no GPU, no sandbox (we run as root in CI), no network calls of its own.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const isCI = process.env.CI === 'true';

export function chromiumInstalled(): boolean {
  return fs.existsSync(CHROMIUM_PATH);
}

/** Why a UI test cannot run here, or null when it can. */
export function browserUnavailableReason(): string | null {
  return chromiumInstalled() ? null : `${CHROMIUM_PATH} not found: run scripts/setup.sh as root (it installs Debian's chromium)`;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** A TCP port that was free a moment ago (the UI port must be chosen before the server starts). */
export { freePort } from '../../processes';

/** The Temporal dev server (the real `temporal` CLI) with its web UI on `uiPort` and our search attributes. */
export async function createLocalEnvWithUi(uiPort: number): Promise<TestWorkflowEnvironment> {
  const executable = cliExecutable();
  if (executable.type === 'cached-download' && isCI) {
    throw new Error('temporal CLI binary not found under CI=true: run scripts/setup.sh (it installs it into .venv)');
  }
  return TestWorkflowEnvironment.createLocal({
    server: { executable, ui: true, uiPort, searchAttributes: ALL_SEARCH_ATTRIBUTES },
  });
}
