// A small client of pachd's REST gateway (works against the emulator and a real pachd), and
// `putFiles`, the one-call way for tests and the demo to commit files to a repo.
import http from 'node:http';
import https from 'node:https';
import { URL } from 'node:url';
import { pachydermContract, assertContract } from './contract';

export type Json = Record<string, unknown>;

/** An error answered by pachd: the gRPC code and message from the rpcStatus body, and the HTTP status. */
export class PachdError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = 'PachdError';
  }
}

export interface PachdTarget {
  url: string;
  authToken?: string;
  /** Check every request sent and every answer received against pachd's API spec (throws if not). */
  contractCheck?: boolean;
}

const UPLOAD_CHUNK = 1024 * 1024;

export class PachdRestClient {
  readonly baseUrl: string;
  readonly authToken?: string;
  readonly contractCheck: boolean;

  constructor(target: string | PachdTarget) {
    const t: PachdTarget = typeof target === 'string' ? { url: target } : target;
    this.baseUrl = t.url.replace(/\/+$/, '');
    this.authToken = t.authToken;
    this.contractCheck = t.contractCheck ?? false;
  }

  private check(kind: 'request' | 'response' | 'streamLine' | 'error', rpc: string, value: unknown): void {
    if (!this.contractCheck) return;
    const c = pachydermContract();
    const errors = kind === 'error' ? c.error(value) : c[kind](rpc, value);
    assertContract(errors, `${rpc} ${kind} ${JSON.stringify(value).slice(0, 300)}`);
  }

  private request(method: string, path: string, headers: Record<string, string> = {}): http.ClientRequest {
    const url = new URL(this.baseUrl + path);
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method, headers: { ...(this.authToken ? { 'authn-token': this.authToken } : {}), ...headers } });
    // No `Connection` header (Node's keep-alive agent adds one): real pachd's REST gateway passes every
    // header on as gRPC metadata and answers a hop-by-hop one with HTTP 500. The socket is still reused.
    req.removeHeader('connection');
    return req;
  }

  private static async collect(res: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private errorAnswer(rpc: string, status: number, body: Buffer): PachdError {
    if (this.contractCheck) {
      const j = JSON.parse(body.toString('utf8')) as Json;
      this.check(j.error ? 'streamLine' : 'error', rpc, j);
    }
    return PachdRestClient.errorOf(status, body);
  }

  private static errorOf(status: number, body: Buffer): PachdError {
    try {
      const j = JSON.parse(body.toString('utf8')) as { code?: number; message?: string; error?: { code: number; message: string } };
      const e = j.error ?? j;
      return new PachdError(e.code ?? 2, e.message ?? `HTTP ${status}`, status);
    } catch {
      return new PachdError(2, body.toString('utf8').trim() || `HTTP ${status}`, status);
    }
  }

  /** Sends `body` (a JSON value, or NDJSON lines for client streams) and returns the response. */
  private async send(rpc: string, lines: Iterable<Json> | AsyncIterable<Json>, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const req = this.request('POST', `/api/${rpc}`, { 'content-type': 'application/json' });
    if (signal) signal.addEventListener('abort', () => req.destroy(new Error('aborted')));
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    for await (const line of lines) {
      this.check('request', rpc, line);
      if (!req.write(JSON.stringify(line) + '\n')) {
        await new Promise<void>((resolve) => {
          const done = () => {
            req.off('drain', done);
            req.off('close', done);
            resolve();
          };
          req.on('drain', done);
          req.on('close', done);
        });
      }
      if (req.destroyed) break;
    }
    req.end();
    return response;
  }

  /** A unary call; throws PachdError on an error answer. */
  async call<T = Json>(rpc: string, body: Json = {}): Promise<T> {
    const res = await this.send(rpc, [body]);
    const buf = await PachdRestClient.collect(res);
    if (res.statusCode !== 200) throw this.errorAnswer(rpc, res.statusCode ?? 0, buf);
    const answer = JSON.parse(buf.toString('utf8')) as T;
    this.check('response', rpc, answer);
    return answer;
  }

  /** A server stream, message by message; an `{"error"}` line throws. `signal` ends it early. */
  async *stream<T = Json>(rpc: string, body: Json = {}, signal?: AbortSignal): AsyncGenerator<T> {
    const res = await this.send(rpc, [body], signal);
    if (res.statusCode !== 200) throw this.errorAnswer(rpc, res.statusCode ?? 0, await PachdRestClient.collect(res));
    let pending = '';
    try {
      for await (const chunk of res) {
        pending += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (!line) continue;
          const msg = JSON.parse(line) as { result?: T; error?: { code: number; message: string } };
          this.check('streamLine', rpc, msg);
          if (msg.error) throw new PachdError(msg.error.code, msg.error.message, 200);
          yield msg.result as T;
        }
      }
    } catch (err) {
      if (signal?.aborted && !(err instanceof PachdError)) return;
      throw err;
    } finally {
      res.destroy();
    }
  }

  async list<T = Json>(rpc: string, body: Json = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const m of this.stream<T>(rpc, body)) out.push(m);
    return out;
  }

  /** ModifyFile with the given NDJSON messages (setCommit first). */
  async modifyFile(messages: Iterable<Json> | AsyncIterable<Json>): Promise<void> {
    const res = await this.send('pfs_v2.API/ModifyFile', messages);
    const buf = await PachdRestClient.collect(res);
    if (res.statusCode !== 200) throw this.errorAnswer('pfs_v2.API/ModifyFile', res.statusCode ?? 0, buf);
    this.check('response', 'pfs_v2.API/ModifyFile', JSON.parse(buf.toString('utf8')));
  }

  /** GetFile's content as one Buffer. */
  async getFile(repo: string, commit: string, path: string, project = 'default'): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const body = { file: { commit: commitOf(repo, commit, project), path } };
    for await (const b64 of this.stream<string>('pfs_v2.API/GetFile', body)) chunks.push(Buffer.from(b64, 'base64'));
    return Buffer.concat(chunks);
  }

  /** The raw download route /pfs/<project>/<repo>/<commit|branch>/<path>. */
  async download(repo: string, commit: string, path: string, project = 'default'): Promise<Buffer> {
    const encoded = path.split('/').filter(Boolean).map(encodeURIComponent).join('/');
    const req = this.request('GET', `/pfs/${project}/${repo}/${commit}/${encoded}`);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    const buf = await PachdRestClient.collect(res);
    if (res.statusCode !== 200) throw new PachdError(2, buf.toString('utf8').trim(), res.statusCode ?? 0);
    return buf;
  }
}

/** A `Commit` message naming a commit id, or a branch head when `idOrBranch` is not a commit id. */
export function commitOf(repo: string, idOrBranch: string, project = 'default'): Json {
  const r = { name: repo, type: 'user', project: { name: project } };
  return /^[0-9a-f]{32}$/.test(idOrBranch) ? { repo: r, id: idOrBranch } : { repo: r, branch: { repo: r, name: idOrBranch } };
}

/** ModifyFile messages that (over)write `path` with `data`: deleteFile, then addFile in 1 MiB chunks. */
export function* putFileMessages(path: string, data: Buffer): Generator<Json> {
  yield { deleteFile: { path } };
  if (data.length === 0) yield { addFile: { path, raw: '' } };
  for (let i = 0; i < data.length; i += UPLOAD_CHUNK) {
    yield { addFile: { path, raw: data.subarray(i, i + UPLOAD_CHUNK).toString('base64') } };
  }
}

export interface PutFilesOptions {
  project?: string;
  /** Commit description. */
  description?: string;
  /** Paths to delete in the same commit. */
  deletes?: string[];
}

/**
 * Commits `files` (path -> content) to `repo@branch`, creating the repo if needed, and waits until
 * the commit is finished. Returns the commit id.
 */
export async function putFiles(
  target: string | PachdTarget,
  repo: string,
  branch: string,
  files: Record<string, string | Buffer>,
  opts: PutFilesOptions = {},
): Promise<string> {
  const client = new PachdRestClient(target);
  const project = opts.project ?? 'default';
  const repoMsg = { name: repo, type: 'user', project: { name: project } };
  try {
    await client.call('pfs_v2.API/CreateRepo', { repo: repoMsg });
  } catch (err) {
    if (!(err instanceof PachdError && err.code === 6)) throw err;
  }
  const commit = await client.call<{ id: string }>('pfs_v2.API/StartCommit', {
    branch: { repo: repoMsg, name: branch },
    description: opts.description ?? '',
  });
  const commitMsg = { repo: repoMsg, id: commit.id };
  await client.modifyFile(
    (function* () {
      yield { setCommit: commitMsg };
      for (const p of opts.deletes ?? []) yield { deleteFile: { path: p } };
      for (const [p, content] of Object.entries(files)) yield* putFileMessages(p, Buffer.isBuffer(content) ? content : Buffer.from(content));
    })(),
  );
  await client.call('pfs_v2.API/FinishCommit', { commit: commitMsg });
  await client.call('pfs_v2.API/InspectCommit', { commit: commitMsg, wait: 'FINISHED' });
  return commit.id;
}
