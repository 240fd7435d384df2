// A reverse proxy in front of one emulator, private to one worker process, that can hold one request:
// either before it reaches the emulator (`phase: 'request'`) or after the emulator handled it and before
// the worker gets the answer (`phase: 'response'`: the side effect exists, the worker does not know).
// `arm()` resolves when a matching request is held, which is the moment to SIGKILL the worker: the
// kill then lands while the activity's request is in flight, not a few milliseconds early or late.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HoldRule {
  method: string;
  /** Matched against the path without the query string. */
  path: RegExp;
  phase: 'request' | 'response';
  /** Let this many matching requests through first. */
  skip?: number;
}

interface Armed {
  rule: HoldRule;
  seen: number;
  hit: () => void;
}

export class InterceptProxy {
  private armed: Armed[] = [];
  private readonly held = new Set<http.ServerResponse>();
  private readonly server: http.Server;
  /** Requests seen (`METHOD /path`), for diagnostics. */
  readonly seen: string[] = [];

  private constructor(private readonly target: URL) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(target: string): Promise<InterceptProxy> {
    const proxy = new InterceptProxy(new URL(target));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Holds the next matching request (after `skip`); resolves once it is held. */
  arm(rule: HoldRule): Promise<void> {
    return new Promise((resolve) => this.armed.push({ rule, seen: 0, hit: resolve }));
  }

  disarm(): void {
    this.armed = [];
  }

  private failing: { method: string; path: RegExp } | null = null;

  /** Answers matching requests 503 (an outage of that endpoint) until `stopFailing()`. */
  failMatching(method: string, path: RegExp): void {
    this.failing = { method, path };
  }

  stopFailing(): void {
    this.failing = null;
  }

  /** Drops every held connection (the worker that sent them is gone anyway). */
  releaseHeld(): void {
    for (const res of this.held) res.destroy();
    this.held.clear();
  }

  async close(): Promise<void> {
    this.disarm();
    this.releaseHeld();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private match(method: string, path: string): Armed | null {
    for (const a of this.armed) {
      if (a.rule.method !== method || !a.rule.path.test(path)) continue;
      if (a.seen++ < (a.rule.skip ?? 0)) continue;
      this.armed = this.armed.filter((x) => x !== a);
      return a;
    }
    return null;
  }

  private hold(res: http.ServerResponse, armed: Armed): void {
    this.held.add(res);
    res.on('close', () => this.held.delete(res));
    armed.hit();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    this.seen.push(`${method} ${path}`);
    if (this.failing && this.failing.method === method && this.failing.path.test(path)) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: 'injected outage' }));
    }
    const armed = this.match(method, path);
    if (armed?.rule.phase === 'request') {
      req.resume();
      return this.hold(res, armed);
    }
    const upstream = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method,
        path: req.url,
        headers: { ...req.headers, host: this.target.host },
      },
      (answer) => {
        if (armed) {
          answer.resume(); // the emulator did it; the worker never hears of it
          return this.hold(res, armed);
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('aborted', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
