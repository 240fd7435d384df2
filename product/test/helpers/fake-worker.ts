// A Temporal test server with a worker running the real workflows over the in-memory activities
// (test/helpers/fake-activities), shared by the workflow test files.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createFakeActivities, type FakeWorld } from './fake-activities';
import { testWorkflowBundle } from './workflow-bundle';

export interface FakeWorkerEnv {
  readonly env: TestWorkflowEnvironment;
  /** Increases with each withWorker call: makes workflow ids unique across tests. */
  readonly n: number;
  /** Runs `fn` while a worker polls a fresh task queue with `world`'s activities. */
  withWorker<T>(world: FakeWorld, fn: (taskQueue: string) => Promise<T>): Promise<T>;
}

/** Registers beforeAll/afterAll that start and stop the server; workers load the run's shared workflow bundle. */
export function useFakeWorkerEnv(createEnv: () => Promise<TestWorkflowEnvironment>): FakeWorkerEnv {
  let env: TestWorkflowEnvironment | undefined;
  let n = 0;
  beforeAll(async () => {
    env = await createEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });
  return {
    get env() {
      if (!env) throw new Error('the test server is not started yet');
      return env;
    },
    get n() {
      return n;
    },
    async withWorker(world, fn) {
      const taskQueue = `wf-test-${++n}`;
      const worker = await Worker.create({
        connection: this.env.nativeConnection,
        taskQueue,
        ...testWorkflowBundle(),
        activities: createFakeActivities(world),
        // Cancellation reaches an activity with its next heartbeat: don't let throttling delay it.
        maxHeartbeatThrottleInterval: '200ms',
      });
      return worker.runUntil(fn(taskQueue));
    },
  };
}
