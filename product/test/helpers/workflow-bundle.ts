// One workflow bundle for the whole test run, built by globalSetup (jest.config.js) the way production
// builds it (scripts/bundle-workflows.ts, loaded through CT_WORKFLOW_BUNDLE), instead of webpack in every
// worker the tests start: 1.5 s each (41 s over the 27 in-process workers of one run), and as much again in
// every worker process the reliability suites start and kill.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';
import { bundleWorkflows } from '../../scripts/bundle-workflows';
import { tracingFromEnv } from '../../worker/tracing';

const VARIABLE = 'CT_TEST_WORKFLOW_BUNDLE';

/** The bundle's path: set by globalSetup for every test file of the run. */
export function testWorkflowBundlePath(): string {
  const file = process.env[VARIABLE];
  if (!file || !fs.existsSync(file)) {
    throw new Error(`${VARIABLE} is ${file ? `${file}, which does not exist` : 'not set'}: run the tests through jest.config.js (its globalSetup builds the bundle)`);
  }
  return file;
}

/** Worker.create options for the shared bundle: its tracing interceptors' spans go to a dropping sink. */
export function testWorkflowBundle(): Pick<WorkerOptions, 'workflowBundle' | 'sinks' | 'interceptors'> {
  return { workflowBundle: { codePath: testWorkflowBundlePath() }, ...tracingFromEnv({}).workerOptions(true) };
}

/** jest globalSetup: builds the bundle into a temp folder that globalTeardown removes. */
export async function buildTestWorkflowBundle(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-test-bundle-'));
  const file = path.join(dir, 'workflow-bundle.js');
  await bundleWorkflows(file);
  process.env[VARIABLE] = file;
}

export function removeTestWorkflowBundle(): void {
  const file = process.env[VARIABLE];
  if (file) fs.rmSync(path.dirname(file), { recursive: true, force: true });
}
