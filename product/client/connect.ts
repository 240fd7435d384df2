// Connects the CLI and the watcher to Temporal from the environment (worker/temporal-config.ts), failing in one
// clear line.
import { Client, Connection } from '@temporalio/client';
import { cannotReach, connectionOptions, loadTemporalConfig, type TemporalConfig } from '../worker/temporal-config';

export interface Connected {
  client: Client;
  config: TemporalConfig;
  close(): Promise<void>;
}

export async function connectTemporal(env: Record<string, string | undefined> = process.env): Promise<Connected> {
  const config = loadTemporalConfig(env);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: '5s' });
  } catch (err) {
    throw await cannotReach(config, err);
  }
  return {
    client: new Client({ connection, namespace: config.namespace }),
    config,
    close: () => connection.close(),
  };
}

