// The worker process: `npm run worker`. Configuration comes from the environment (see README):
// Temporal (TEMPORAL_*), the three systems (PACHD_*, DET_*, SELDON_*), logs (CT_LOG_LEVEL) and
// Prometheus metrics (CT_METRICS_ADDRESS, e.g. 0.0.0.0:9464), health endpoints (CT_HEALTH_ADDRESS, e.g.
// 0.0.0.0:8080), a prebuilt workflow bundle (CT_WORKFLOW_BUNDLE), the shutdown grace (CT_SHUTDOWN_GRACE).
// Several workers may share the task queue.
import fs from 'node:fs';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel, type Worker } from '@temporalio/worker';
import { loadConnectionsConfig } from '../activities';
import { parseDuration } from '../common/duration';
import { HISTOGRAM_BUCKETS } from '../common/metrics';
import { cannotReach, loadTemporalConfig, connectionOptions } from './temporal-config';
import { createWorker } from './create-worker';
import { tracingFromEnv } from './tracing';
import { checkTemporalNamespace } from './check-temporal';
import { startHealthServer, temporalUnreachable } from './health-server';
import { logProcessWarnings, writeLog } from './json-log';

const LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

async function run(): Promise<void> {
  logProcessWarnings();
  const temporal = loadTemporalConfig();
  const connections = loadConnectionsConfig();
  const level = (process.env.CT_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  if (!LEVELS.includes(level)) throw new Error(`CT_LOG_LEVEL must be one of ${LEVELS.join(', ')}`);
  const metricsAddress = process.env.CT_METRICS_ADDRESS;
  const workflowBundlePath = process.env.CT_WORKFLOW_BUNDLE || undefined;
  if (workflowBundlePath && !fs.existsSync(workflowBundlePath)) {
    throw new Error(`invalid worker configuration: CT_WORKFLOW_BUNDLE: no such file ${workflowBundlePath} (build it with npm run bundle-workflows)`);
  }
  const shutdownGrace = process.env.CT_SHUTDOWN_GRACE || '30s';
  const shutdownGraceMs = parseDuration(shutdownGrace);
  if (shutdownGraceMs === null) {
    throw new Error(`invalid worker configuration: CT_SHUTDOWN_GRACE: "${shutdownGrace}" is not a duration (e.g. 30s, 2m)`);
  }
  // Up first, so the liveness probe passes while the worker connects and loads its workflows.
  const running: { connection?: NativeConnection; worker?: Worker } = {};
  const healthAddress = process.env.CT_HEALTH_ADDRESS;
  const health = healthAddress
    ? await startHealthServer(healthAddress, async () => {
        const state = running.worker?.getState() ?? 'STARTING';
        if (state !== 'RUNNING' || !running.connection) return `worker ${state}`;
        return temporalUnreachable(running.connection);
      })
    : undefined;

  Runtime.install({
    // Structured logs: one JSON object a line (worker/json-log.ts), ready for a log pipeline.
    logger: new DefaultLogger(level, (entry) =>
      writeLog(entry.level, entry.message, entry.meta ?? {}, new Date(Number(entry.timestampNanos / 1_000_000n))),
    ),
    // The SDK's temporal_* metrics and the product's ct_* (common/metrics.ts), whose durations run to hours.
    telemetryOptions: metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress, histogramBucketOverrides: HISTOGRAM_BUCKETS } } } : undefined,
  });

  const tracing = tracingFromEnv();
  const connection = await NativeConnection.connect(connectionOptions(temporal)).catch(async (err: unknown) => {
    throw await cannotReach(temporal, err);
  });
  running.connection = connection;
  try {
    await checkTemporalNamespace(connection, temporal.namespace);
    const worker = await createWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      connections,
      workflowBundlePath,
      shutdownGraceTime: shutdownGraceMs,
      tracing,
    });
    running.worker = worker;
    writeLog('info', 'worker started', {
        address: temporal.address,
        namespace: temporal.namespace,
        taskQueue: temporal.taskQueue,
        metrics: metricsAddress ?? null,
        health: health?.address ?? null,
        workflowBundle: workflowBundlePath ?? null,
        shutdownGrace,
        traces: tracing.exporting ? 'OTLP' : 'off',
      });
    await worker.run(); // returns after SIGINT/SIGTERM once running activities have finished or timed out
  } finally {
    await connection.close();
    await tracing.shutdown();
    await health?.close();
  }
}

run().catch((err) => {
  writeLog('error', err instanceof Error ? err.message : String(err));
  process.exit(1);
});
