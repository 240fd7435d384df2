// pachd's HTTP port as the emulator serves it: the grpc-gateway REST API under /api/, raw file
// downloads under /pfs/, and /healthz. Auth, when enabled, is the `authn-token` header (or
// `?authn-token=` on /pfs/), authenticated here and authorised by the API core (PachAuth).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type RequestContext } from '../common/router';
import { sendJson } from '../common/body';
import { GrpcCode, httpStatusFromCode, invalidArgument, rpcStatus, toPachError } from './errors';
import { NdjsonStream, readLines } from './ndjson';
import { unknownMethod, type PfsApi } from './api';
import type { Json } from './protojson';
import type { PfsStore } from './store';

export interface RestOptions {
  api: PfsApi;
  store: PfsStore;
}

function sendError(res: ServerResponse, err: unknown): void {
  const e = toPachError(err);
  sendJson(res, httpStatusFromCode(e.code), rpcStatus(e.code, e.message));
}

function headerToken(req: IncomingMessage): string | undefined {
  const v = req.headers['authn-token'];
  return Array.isArray(v) ? v[0] : v;
}

async function readJsonBody(req: IncomingMessage): Promise<Json> {
  let text = '';
  for await (const line of readLines(req)) text += line;
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`proto: syntax error: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument('the request body must be a JSON object');
  return parsed as Json;
}

async function* parsedLines(req: IncomingMessage): AsyncGenerator<Json> {
  for await (const line of readLines(req)) {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      throw invalidArgument(`proto: syntax error in a ModifyFile message: ${(err as Error).message}`);
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) throw invalidArgument('each ModifyFile line must be a JSON object');
    yield msg as Json;
  }
}

export function buildRestRouter(opts: RestOptions): Router {
  const { api, store } = opts;
  const router = new Router();

  router.get('/healthz', ({ res }) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('healthy\n');
  });

  router.post('/api/:service/:method', async ({ req, res, params }: RequestContext) => {
    const method = `${params.service}/${params.method}`;
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const kind = api.has(method);
    let body: Json;
    let caller;
    try {
      caller = api.auth.authenticate(headerToken(req));
      if (!kind) throw unknownMethod(method);
      if (kind === 'modify') {
        try {
          sendJson(res, 200, await api.modifyFile(parsedLines(req), caller));
        } finally {
          req.resume(); // drain what an aborted upload still sends
        }
        return;
      }
      body = await readJsonBody(req);
      if (kind === 'unary') {
        sendJson(res, 200, await api.callUnary(method, body, { signal: abort.signal, caller }));
        return;
      }
    } catch (err) {
      sendError(res, err);
      return;
    }
    // Server streams: headers go out with the first message, so early errors keep their status.
    const stream = new NdjsonStream(res);
    try {
      await api.callStream(method, body, { signal: abort.signal, caller }, (msg, flush) =>
        stream.send(Buffer.isBuffer(msg) ? msg.toString('base64') : msg, flush),
      );
      await stream.end();
    } catch (err) {
      await stream.fail(err);
    }
  });

  // Raw downloads: GET /pfs/<project>/<repo>/<commit|branch>/<path>.
  router.get('/pfs/:project/:repo/:commit/*path', async ({ req, res, params, query }) => {
    try {
      const caller = api.auth.authenticate(headerToken(req) ?? query.get('authn-token') ?? undefined);
      api.authorizeDownload(caller, params.project, params.repo);
      const c = store.resolveCommit({ project: params.project, repo: params.repo, id: params.commit });
      const entry = await store.fileForRead(c, '/' + params.path);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': entry.size });
      const stream = store.content.read(entry);
      if (!stream) {
        res.end();
        return;
      }
      stream.pipe(res);
      await new Promise<void>((resolve) => res.on('close', resolve));
    } catch (err) {
      const e = toPachError(err);
      res.writeHead(httpStatusFromCode(e.code), { 'content-type': 'text/plain; charset=utf-8' });
      // pachd's file server quotes the gRPC error of its InspectFile call, which names the path without its leading slash.
      res.end(`problem inspecting file: rpc error: code = ${GrpcCode[e.code]} desc = ${e.message.replace(/^file \//, 'file ')}\n`);
    }
  });

  return router;
}
