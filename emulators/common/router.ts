// A minimal HTTP router for the emulators: no framework, so the wire format stays under our control.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Path without the query string, percent-decoded per segment by the router. */
  path: string;
  query: URLSearchParams;
  /** Values of `:name` segments (and of a trailing `*rest`). */
  params: Record<string, string>;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: string;
  regex: RegExp;
  names: string[];
  handler: Handler;
}

/** Thrown by handlers to answer with a status and a body in the emulated system's own error shape. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

export class Router {
  private readonly routes: Route[] = [];

  /**
   * Adds a route. Pattern segments: literal, `:name` (one segment), `*name` (the rest of the path,
   * may contain slashes; only last). A literal segment may contain a `:` suffix such as `{id}:kill`
   * written as `:id\\:kill` is not supported: use separate literal routes instead.
   */
  add(method: string, pattern: string, handler: Handler): this {
    const names: string[] = [];
    const parts = pattern.split('/').map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      if (seg.startsWith('*')) {
        names.push(seg.slice(1));
        return '(.*)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    });
    this.routes.push({ method, pattern, regex: new RegExp(`^${parts.join('/')}$`), names, handler });
    return this;
  }

  get(p: string, h: Handler): this {
    return this.add('GET', p, h);
  }
  post(p: string, h: Handler): this {
    return this.add('POST', p, h);
  }
  put(p: string, h: Handler): this {
    return this.add('PUT', p, h);
  }
  patch(p: string, h: Handler): this {
    return this.add('PATCH', p, h);
  }
  delete(p: string, h: Handler): this {
    return this.add('DELETE', p, h);
  }

  /** Finds the handler for a request; `methodMismatch` is true when the path exists for another method. */
  match(method: string, path: string): { route?: Route; params: Record<string, string>; methodMismatch: boolean } {
    let methodMismatch = false;
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        methodMismatch = true;
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1]);
      });
      return { route, params, methodMismatch: false };
    }
    return { params: {}, methodMismatch };
  }
}
