// Control routes of the Seldon emulator (not part of Seldon Deploy): outcomes, runtimes, secrets, processes.
import { HttpError, type RequestContext, type Router } from '../common/router';
import { readJson, sendJson } from '../common/body';
import { validateOutcomes } from './outcomes';
import { validateRuntimes } from './model-process';
import { deploymentKey, type SeldonStore } from './store';
import type { RolloutController } from './rollouts';
import { checkDnsLabel, checkDnsSubdomain } from './validation';

const bad = (message: string) => new HttpError(400, { message });

/** `{KEY: "value"}` with string values (plain text, not base64). */
export function validateSecretData(value: unknown, where = 'data'): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where} must be an object of KEY: "value" strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) throw new Error(`${where}: invalid key ${JSON.stringify(k)} (letters, digits, '-', '_', '.')`);
    if (typeof v !== 'string') throw new Error(`${where}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

export function addControlRoutes(router: Router, store: SeldonStore, rollouts: RolloutController): void {
  const json = (ctx: RequestContext) => readJson<Record<string, unknown>>(ctx.req, (m) => bad(m));
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw bad((err as Error).message);
    }
  };

  router.get('/__emulator/outcomes', ({ res }) => sendJson(res, 200, { rules: store.state.outcomes }));
  router.put('/__emulator/outcomes', async (ctx) => {
    const body = await json(ctx);
    store.state.outcomes = guard(() => validateOutcomes(body.rules));
    store.save();
    sendJson(ctx.res, 200, { rules: store.state.outcomes });
  });

  router.get('/__emulator/runtimes', ({ res }) => sendJson(res, 200, { runtimes: store.state.runtimes }));
  router.put('/__emulator/runtimes', async (ctx) => {
    const body = await json(ctx);
    store.state.runtimes = guard(() => validateRuntimes(body.runtimes));
    store.save();
    sendJson(ctx.res, 200, { runtimes: store.state.runtimes });
  });

  const secretKey = (ctx: RequestContext) => {
    const { namespace, name } = ctx.params;
    const problem = checkDnsLabel(namespace, 'namespace') ?? checkDnsSubdomain(name, 'name');
    if (problem) throw bad(problem);
    return deploymentKey(namespace, name);
  };
  router.get('/__emulator/secrets', ({ res }) => sendJson(res, 200, { secrets: Object.keys(store.state.secrets).sort() }));
  router.get('/__emulator/secrets/:namespace/:name', (ctx) => {
    const data = store.state.secrets[secretKey(ctx)];
    if (!data) throw new HttpError(404, { message: `secret ${ctx.params.namespace}/${ctx.params.name} not found` });
    sendJson(ctx.res, 200, { data });
  });
  router.put('/__emulator/secrets/:namespace/:name', async (ctx) => {
    const key = secretKey(ctx);
    const body = await json(ctx);
    store.state.secrets[key] = guard(() => validateSecretData(body.data));
    store.save();
    sendJson(ctx.res, 200, { data: store.state.secrets[key] });
  });
  router.delete('/__emulator/secrets/:namespace/:name', (ctx) => {
    const key = secretKey(ctx);
    if (!store.state.secrets[key]) throw new HttpError(404, { message: `secret ${key} not found` });
    delete store.state.secrets[key];
    store.save();
    sendJson(ctx.res, 200, {});
  });

  router.get('/__emulator/processes', ({ res }) => sendJson(res, 200, { processes: rollouts.processes() }));
}
