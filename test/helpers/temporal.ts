// Starts real Temporal servers for tests through `existing-path` (see scripts/temporal-binaries.ts).
// Under CI=true a missing binary fails the run instead of falling back to a download that cannot work here.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { cliExecutable, testServerExecutable, type ServerExecutable } from '../../scripts/temporal-binaries';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes';

function required(exe: ServerExecutable, what: string): ServerExecutable {
  if (exe.type === 'cached-download' && process.env.CI === 'true') {
    throw new Error(`${what} binary not found under CI=true: run scripts/setup.sh (it installs it into .venv)`);
  }
  return exe;
}

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: required(testServerExecutable(), 'temporal-test-server') },
  });
}

export async function createLocalEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: required(cliExecutable(), 'temporal CLI'),
      searchAttributes: Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => ({ name, type })),
    },
  });
}
