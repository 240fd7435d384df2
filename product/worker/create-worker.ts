// Builds the worker: every workflow, and the activities over clients configured from the worker's
// own configuration (secrets never travel in workflow inputs). Used by worker/main.ts and the demo.
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Duration } from '@temporalio/common';
import { createActivities, type ConnectionsConfig } from '../activities';
import { tracingFromEnv, type Tracing } from './tracing';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  connections: ConnectionsConfig;
  /** A workflow bundle prebuilt by scripts/bundle-workflows.ts; without it, workflows/ is bundled at start. */
  workflowBundlePath?: string;
  /** How long running activities get to finish after SIGTERM (CT_SHUTDOWN_GRACE); 30s by default. */
  shutdownGraceTime?: Duration;
  /** Traces (worker/tracing.ts); from the OTEL_* variables by default (off without an endpoint). */
  tracing?: Tracing;
}

export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(opts.connections),
    ...(opts.tracing ?? tracingFromEnv()).workerOptions(Boolean(opts.workflowBundlePath)),
    // On SIGTERM, running activities get this long to finish or heartbeat out before the worker exits;
    // whatever is still running is retried by another worker, resuming from its heartbeat details.
    // The pod's terminationGracePeriodSeconds must be longer (deploy/helm).
    shutdownGraceTime: opts.shutdownGraceTime ?? '30s',
    // Cancellation reaches an activity with its next heartbeat: keep throttled heartbeats frequent.
    maxHeartbeatThrottleInterval: '5s',
  });
}
