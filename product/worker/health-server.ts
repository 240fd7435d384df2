// The health endpoints of the worker and the watcher (CT_HEALTH_ADDRESS, e.g. 0.0.0.0:8080), for
// Kubernetes probes: GET /healthz answers 200 while the process runs (liveness), GET /readyz answers
// 200 when the process says it is ready, else 503 with the reason (readiness).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Resolves to null when ready, else to why not. */
export type ReadinessCheck = () => Promise<string | null>;

export interface HealthServer {
  /** host:port actually bound (the port is chosen by the system when 0 was asked). */
  address: string;
  close(): Promise<void>;
}

/** Parses host:port (IPv6 hosts in brackets) or throws naming the variable. */
function parseHostPort(value: string, name: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${name}: "${value}" is not host:port (e.g. 0.0.0.0:8080)`);
  return { host: m[1] ?? m[2], port };
}

export async function startHealthServer(address: string, ready: ReadinessCheck): Promise<HealthServer> {
  const { host, port } = parseHostPort(address, 'CT_HEALTH_ADDRESS');
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || (path !== '/healthz' && path !== '/readyz')) {
      res.writeHead(404).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    ready().then(
      (reason) => res.writeHead(reason === null ? 200 : 503, { 'content-type': 'text/plain' }).end(`${reason ?? 'ready'}\n`),
      (err: Error) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  // Probes must never keep a process that is shutting down alive.
  server.unref();
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The part of a Temporal connection (the worker's NativeConnection, the client's Connection) a check uses. */
export interface TemporalConnectionLike {
  withAbortSignal<R>(signal: AbortSignal, fn: () => Promise<R>): Promise<R>;
  workflowService: { getSystemInfo(request: object): Promise<unknown> };
}

/** Null when the connection answers a cheap call within `timeoutMs`, else why not. */
export async function temporalUnreachable(connection: TemporalConnectionLike, timeoutMs = 3000): Promise<string | null> {
  try {
    await connection.withAbortSignal(AbortSignal.timeout(timeoutMs), () => connection.workflowService.getSystemInfo({}));
    return null;
  } catch (err) {
    return `Temporal unreachable: ${(err as Error).message.split('\n')[0]}`;
  }
}
