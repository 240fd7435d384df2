// The ingress of deployed models: `/seldon/<namespace>/<name>/<path>` goes to the serving generation's container,
// like Istio + the Seldon executor in front of a seldon-core microservice.
import http from 'node:http';
import type { Router, RequestContext } from '../common/router';
import { sendJson } from '../common/body';
import type { SeldonStore } from './store';
import type { RolloutController } from './rollouts';

/** Seldon Core's error shape for the prediction path. */
export function seldonProtocolError(status: number, reason: string, info: string) {
  return { status: { code: status, info, reason, status: 'FAILURE' } };
}

export function addPredictionRoutes(router: Router, store: SeldonStore, rollouts: RolloutController): void {
  const handler = async (ctx: RequestContext) => {
    const { namespace, name, rest } = ctx.params;
    const record = store.get(namespace, name);
    if (!record) {
      return sendJson(ctx.res, 404, seldonProtocolError(404, 'NOT_FOUND', `no SeldonDeployment ${namespace}/${name}`));
    }
    const instance = rollouts.servingInstance(namespace, name);
    if (!instance) {
      const status = record.resource.status;
      const why = status?.description ? `: ${status.description}` : '';
      return sendJson(
        ctx.res,
        503,
        seldonProtocolError(503, 'NOT_AVAILABLE', `SeldonDeployment ${namespace}/${name} has no available version (state ${status?.state ?? 'unknown'})${why}`),
      );
    }
    if (instance.kind === 'simulated') {
      // Never a made-up prediction: without a runtime the model cannot answer.
      return sendJson(ctx.res, 503, seldonProtocolError(503, 'NO_RUNTIME', `SeldonDeployment ${namespace}/${name}: ${instance.reason}`));
    }
    await proxy(ctx, instance.process.port, `/${rest}`);
  };
  router.post('/seldon/:namespace/:name/*rest', handler);
  router.get('/seldon/:namespace/:name/*rest', handler);
}

function proxy(ctx: RequestContext, port: number, path: string): Promise<void> {
  const search = ctx.query.toString();
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = {};
    for (const h of ['content-type', 'content-length', 'accept', 'seldon-puid']) {
      if (ctx.req.headers[h] !== undefined) headers[h] = ctx.req.headers[h];
    }
    const upstream = http.request(
      { host: '127.0.0.1', port, method: ctx.method, path: search ? `${path}?${search}` : path, headers },
      (answer) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const h of ['content-type', 'content-length']) if (answer.headers[h] !== undefined) out[h] = answer.headers[h];
        ctx.res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(ctx.res);
        answer.on('end', resolve);
        answer.on('error', () => {
          ctx.res.destroy();
          resolve();
        });
      },
    );
    upstream.on('error', (err) => {
      if (!ctx.res.headersSent) sendJson(ctx.res, 502, seldonProtocolError(502, 'UPSTREAM_ERROR', `model container did not answer: ${err.message}`));
      else ctx.res.destroy();
      resolve();
    });
    ctx.req.pipe(upstream);
  });
}
