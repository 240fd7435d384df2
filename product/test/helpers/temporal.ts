// Starts real Temporal servers for tests through `existing-path` (see scripts/temporal-binaries.ts).
// Under CI=true a missing binary fails the run instead of falling back to a download that cannot work here.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { cliExecutable, testServerExecutable, type ServerExecutable } from '../../scripts/temporal-binaries';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes';

function required(exe: ServerExecutable, what: string): ServerExecutable {
  if (exe.type === 'cached-download' && process.env.CI === 'true') {
    throw new Error(`${what} binary not found under CI=true: run scripts/setup.sh (it installs it into .venv)`);
  }
  return exe;
}

/** The time-skipping server, with the project's search attributes registered (it has no start flag for them). */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: required(testServerExecutable(), 'temporal-test-server') },
  });
  const indexedType = { KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT };
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, indexedType[key.type as keyof typeof indexedType]]),
    ),
  });
  return env;
}

/**
 * The dev server's one history shard reads its transfer queue at 20 tasks/s (every workflow task goes
 * through it), which paces tests that run many workflows at once; a production cluster spreads that over
 * many shards. Tests lift the limit (bench/RESULTS.md, orchestration findings).
 */
export const DEV_SERVER_TEST_ARGS = ['--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000'];

export async function createLocalEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: required(cliExecutable(), 'temporal CLI'),
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      extraArgs: DEV_SERVER_TEST_ARGS,
    },
  });
}
