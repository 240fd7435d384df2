// A small axios wrapper shared by the three clients: base URL, timeouts, TLS, auth headers with one
// re-authentication on 401, the activity's cancellation signal, and errors mapped to typed failures.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import axios, { isAxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { Context } from '@temporalio/activity';
import type { ConnectionsConfig } from '../config';
import { classifyStatus, failure, serverMessage, toFailure } from './errors';

export type QueryValue = string | number | boolean | string[] | undefined;

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the client's base URL, already percent-encoded where needed. */
  path: string;
  query?: Record<string, QueryValue>;
  /** A JSON value, or a Readable streamed as the request body (never buffered). */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /**
   * Clean-up calls made after the activity was cancelled (e.g. killing the experiment) must not be
   * aborted by that same cancellation.
   */
  uncancellable?: boolean;
  /** Aborts the request outside an activity (the watcher, the CLI); inside one, the activity's cancellation does. */
  signal?: AbortSignal;
}

/** What every HTTP client needs of the configuration: the timeout and TLS settings. */
export type HttpSettings = Pick<ConnectionsConfig, 'timeoutMs' | 'tls'>;

/** Supplies auth headers; `refresh` is called once after a 401 to get fresh credentials. */
export interface AuthProvider {
  headers(): Promise<Record<string, string>>;
  refresh(): Promise<void>;
}

/** The cancellation signal of the activity running this code, if any. */
export function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // not inside an activity (tests of the clients themselves, scripts)
  }
}

export function createAgents(config: HttpSettings): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const ca = config.tls?.caFile ? fs.readFileSync(config.tls.caFile) : undefined;
  // With a socket timeout set, Node honours the server's `Keep-Alive: timeout=N` hint and closes an idle
  // socket a second before the server would, instead of reusing one the server is closing (an ECONNRESET
  // that a POST cannot safely resend). The timeout itself is longer than any idle gap inside a request.
  const timeout = 10 * 60_000;
  return {
    httpAgent: new KeepAliveAgent({ keepAlive: true, timeout }),
    httpsAgent: new KeepAliveHttpsAgent({ keepAlive: true, timeout, ca, rejectUnauthorized: !config.tls?.insecureSkipVerify }),
  };
}

/**
 * Keep-alive agents that send no `Connection` header. Node writes `Connection: keep-alive` on every
 * request of a keep-alive agent; pachd's own REST gateway (port 1659) forwards every request header
 * as gRPC metadata, and gRPC rejects the hop-by-hop `connection` (RST_STREAM PROTOCOL_ERROR), which
 * the gateway answers with HTTP 500. HTTP/1.1 connections persist without the header, and Node keeps
 * reusing the socket when the header was removed rather than set to `close`.
 */
class KeepAliveAgent extends http.Agent {
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
    req.removeHeader('connection');
    // @ts-expect-error addRequest is Agent's documented extension point, missing from @types/node
    super.addRequest(req, options);
  }
}

class KeepAliveHttpsAgent extends https.Agent {
  addRequest(req: http.ClientRequest, options: https.RequestOptions): void {
    req.removeHeader('connection');
    // @ts-expect-error as above
    super.addRequest(req, options);
  }
}

export class HttpClient {
  private readonly axios: AxiosInstance;

  constructor(
    readonly baseUrl: string,
    private readonly config: HttpSettings,
    private readonly agents: { httpAgent: http.Agent; httpsAgent: https.Agent },
    private readonly auth?: AuthProvider,
    /** The server's own reading of an error answer, where its status alone misleads; classifyStatus otherwise. */
    private readonly classify?: (status: number, message: string) => ReturnType<typeof classifyStatus> | undefined,
  ) {
    this.axios = axios.create({
      baseURL: baseUrl,
      httpAgent: agents.httpAgent,
      httpsAgent: agents.httpsAgent,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      maxRedirects: 0,
      // Statuses are checked here so that stream error bodies can be read and mapped.
      validateStatus: () => true,
    });
  }

  /** A JSON request; resolves to the parsed body of a 2xx answer. */
  async json<T>(opts: RequestOptions): Promise<T> {
    const res = await this.send(opts, 'json');
    return res.data as T;
  }

  /** A request whose answer is consumed as a stream (NDJSON, archives, raw files). */
  async stream(opts: RequestOptions): Promise<Readable> {
    const res = await this.send(opts, 'stream');
    return res.data as Readable;
  }

  private async send(opts: RequestOptions, responseType: 'json' | 'stream'): Promise<AxiosResponse> {
    const what = `${opts.method} ${opts.path}`;
    const signal = opts.signal ?? (opts.uncancellable ? undefined : activitySignal());
    const replayable = !(opts.body instanceof Readable);
    let resent = false;
    let reauthenticated = false;
    let refused = 0;
    for (;;) {
      let res: AxiosResponse;
      try {
        const authHeaders = this.auth ? await this.auth.headers() : {};
        res = await this.axios.request({
          method: opts.method,
          url: opts.path + encodeQuery(opts.query),
          data: opts.body,
          headers: {
            ...(opts.body instanceof Readable ? { 'content-type': 'application/x-ndjson' } : {}),
            ...authHeaders,
            ...opts.headers,
          },
          responseType,
          timeout: opts.timeoutMs ?? this.config.timeoutMs,
          signal,
        });
      } catch (err) {
        // A kept-alive socket the server closed meanwhile: the request never arrived. Sending an
        // idempotent request again is safe; others are left to the activity's retry policy.
        if (!resent && replayable && IDEMPOTENT.has(opts.method) && isStaleSocket(err)) {
          resent = true;
          continue;
        }
        throw toFailure(err, what, signal);
      }
      if (res.status >= 200 && res.status < 300) return res;
      const body = responseType === 'stream' ? await readSmall(res.data as Readable) : res.data;
      if (res.status === 401 && this.auth && replayable && !reauthenticated) {
        reauthenticated = true;
        await this.auth.refresh(); // expired or revoked token: log in again, once
        continue;
      }
      // 429 and 503 say the server did not act on the request: sending it again at once is safe even for a
      // POST, and cheaper than failing the whole activity attempt (which may have made several calls).
      if ((res.status === 429 || res.status === 503) && replayable && refused < REFUSED_RETRIES) {
        refused++;
        await pause(retryDelayMs(res.headers['retry-after'], refused), signal);
        continue;
      }
      const message = serverMessage(parseMaybeJson(body)) || res.statusText || 'no message';
      const { type, retryable } = this.classify?.(res.status, message) ?? classifyStatus(res.status);
      throw failure(type, `${what}: HTTP ${res.status}: ${message}`, !retryable, { status: res.status, what });
    }
  }
}

const REFUSED_RETRIES = 2;

/** Retry-After in seconds when the server gives one (capped at 2 s), else a short growing delay. */
function retryDelayMs(retryAfter: unknown, attempt: number): number {
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 2000);
  return 200 * attempt;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(toFailure(signal.reason, 'pause', signal));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(toFailure(signal.reason, 'pause', signal));
    }, { once: true });
  });
}

const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);

function isStaleSocket(err: unknown): boolean {
  return isAxiosError(err) && !err.response && err.code === 'ECONNRESET';
}

function encodeQuery(query?: Record<string, QueryValue>): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    // grpc-gateway reads repeated fields as repeated keys (labels=a&labels=b).
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Reads at most 64 KiB of an error body, then drops the rest. */
async function readSmall(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      if (size < 65536) chunks.push(buf);
      size += buf.length;
      if (size >= 65536) break;
    }
  } catch {
    // the body is only used for the error message
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseMaybeJson(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
