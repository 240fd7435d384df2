// Runs an emulator's router behind fault injection, request logs and the /__emulator control routes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError, type Router } from './router';
import { sendJson, readJson } from './body';
import { FaultInjector, type FaultConfig } from './faults';

export interface EmulatorServerOptions {
  /** Short name used in logs, e.g. `pachd`. */
  name: string;
  router: Router;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Where structured request logs go: a writable stream, or nothing. */
  log?: NodeJS.WritableStream | null;
  /** Builds the emulated system's error body for a status and message (404, 405, injected faults, crashes). */
  errorBody: (status: number, message: string) => unknown;
  faults?: FaultConfig;
}

export interface RunningEmulator {
  url: string;
  port: number;
  faults: FaultInjector;
  close(): Promise<void>;
}

export async function startEmulatorServer(opts: EmulatorServerOptions): Promise<RunningEmulator> {
  const faults = new FaultInjector(opts.faults);
  const sockets = new Set<import('node:net').Socket>();

  const server = http.createServer((req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    res.on('finish', () => {
      opts.log?.write(
        JSON.stringify({
          ts: new Date(started).toISOString(),
          emulator: opts.name,
          method,
          path,
          status: res.statusCode,
          ms: Date.now() - started,
        }) + '\n',
      );
    });
    void handle(req, res, method, path, url.searchParams).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, opts.errorBody(500, String(err)));
      else res.destroy();
    });
  });

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    if (path === '/__emulator/faults') {
      if (method === 'GET') return sendJson(res, 200, faults.get());
      if (method === 'DELETE') {
        faults.clear();
        return sendJson(res, 200, faults.get());
      }
      if (method === 'PUT') {
        const body = await readJson<FaultConfig>(req, (m) => new HttpError(400, { message: m }));
        try {
          faults.set({ seed: body.seed, rules: Array.isArray(body.rules) ? body.rules : [] });
        } catch (err) {
          return sendJson(res, 400, { message: (err as Error).message });
        }
        return sendJson(res, 200, faults.get());
      }
    }

    const decision = faults.decide(method, path);
    if (decision.latencyMs > 0) await new Promise((r) => setTimeout(r, decision.latencyMs));
    if (decision.kind === 'hang') return; // left open until the client or close() ends it
    if (decision.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (decision.kind === 'error') {
      const headers: Record<string, string> = decision.status === 429 ? { 'retry-after': '1' } : {};
      return sendJson(res, decision.status, opts.errorBody(decision.status, `injected fault: ${decision.status}`), headers);
    }

    const { route, params, methodMismatch } = opts.router.match(method, path);
    if (!route) {
      const status = methodMismatch ? 405 : 404;
      return sendJson(res, status, opts.errorBody(status, methodMismatch ? 'Method Not Allowed' : 'Not Found'));
    }
    try {
      await route.handler({ req, res, method, path, query, params });
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        if (typeof err.body === 'string') {
          res.writeHead(err.status, { 'content-type': 'text/plain; charset=utf-8', ...err.headers });
          res.end(err.body);
        } else {
          sendJson(res, err.status, err.body, err.headers);
        }
        return;
      }
      sendJson(res, 500, opts.errorBody(500, (err as Error).message ?? String(err)));
    }
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`,
    port,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
