// Connects the CLI and the watcher to Temporal from the environment (worker/temporal-config.ts), failing in one
// clear line. With an OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT), their calls are traced: a commit
// sent by ct or the watcher starts the trace of its pipeline run. The tracing libraries load only then.
import { Client, Connection } from '@temporalio/client';
import { cannotReach, connectionOptions, loadTemporalConfig, type TemporalConfig } from '../worker/temporal-config';
import { tracesConfigured } from '../common/tracing-env';

export interface Connected {
  client: Client;
  config: TemporalConfig;
  close(): Promise<void>;
}

export async function connectTemporal(env: Record<string, string | undefined> = process.env, serviceName = 'continuous-training-cli'): Promise<Connected> {
  const config = loadTemporalConfig(env);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: '5s' });
  } catch (err) {
    throw await cannotReach(config, err);
  }
  const traced = tracesConfigured(env) ? await import('../worker/tracing') : null;
  const tracing = traced?.tracingFromEnv(env, serviceName);
  return {
    client: new Client({ connection, namespace: config.namespace, ...(traced && tracing ? { interceptors: { workflow: [traced.clientInterceptor(tracing)] } } : {}) }),
    config,
    close: async () => {
      await tracing?.shutdown(); // flushes the spans still buffered
      await connection.close();
    },
  };
}

