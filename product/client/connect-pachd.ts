// Connects the CLI and the watcher to pachd from the environment, with the client the activities use.
import { PachydermClient } from '../activities/pachyderm/client';

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
