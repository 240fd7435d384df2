// Links to runs in the Temporal UI. CT_UI_URL names the UI (e.g. http://localhost:8080 for the compose
// setup); without it: Temporal Cloud's UI for a Cloud address, the dev server's (its gRPC port + 1000) for a
// local one, and no link otherwise (a guess would be wrong more often than right).
import type { TemporalConfig } from '../worker/temporal-config';

export function uiBaseUrl(config: Pick<TemporalConfig, 'address'>, env: Record<string, string | undefined> = process.env): string | null {
  if (env.CT_UI_URL) return env.CT_UI_URL.replace(/\/+$/, '');
  const at = config.address.lastIndexOf(':');
  const host = config.address.slice(0, at);
  if (/\.tmprl\.cloud$|\.api\.temporal\.io$/.test(host)) return 'https://cloud.temporal.io';
  if (['localhost', '127.0.0.1', '[::1]'].includes(host)) return `http://${host}:${Number(config.address.slice(at + 1)) + 1000}`;
  return null;
}

export function runUrl(base: string | null, namespace: string, workflowId: string, runId?: string): string | null {
  if (!base) return null;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`;
}
