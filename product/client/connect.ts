// Connects the CLI and the watcher from the environment: Temporal (worker/temporal-config.ts), failing in one
// clear line, and pachd.
import { Client, Connection } from '@temporalio/client';
import { connectionOptions, loadTemporalConfig, type TemporalConfig } from '../worker/temporal-config';
import { PachydermClient } from '../activities/pachyderm/client';

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
    throw new Error(`cannot reach Temporal at ${config.address}: ${(err as Error).message.split('\n')[0]}`);
  }
  return {
    client: new Client({ connection, namespace: config.namespace }),
    config,
    close: () => connection.close(),
  };
}

/** A pachd client from PACHD_URL and PACHD_TOKEN (and CT_HTTP_TIMEOUT_MS, CT_TLS_CA_FILE, CT_TLS_INSECURE). */
export function connectPachd(env: Record<string, string | undefined> = process.env): PachydermClient {
  const timeoutMs = Number(env.CT_HTTP_TIMEOUT_MS || 30_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100) throw new Error(`CT_HTTP_TIMEOUT_MS must be a whole number of ms >= 100 (got "${env.CT_HTTP_TIMEOUT_MS}")`);
  return new PachydermClient({
    pachyderm: { url: (env.PACHD_URL || 'http://localhost:1659').replace(/\/+$/, ''), token: env.PACHD_TOKEN || undefined },
    timeoutMs,
    tls: { caFile: env.CT_TLS_CA_FILE || undefined, insecureSkipVerify: env.CT_TLS_INSECURE === 'true' },
  });
}
