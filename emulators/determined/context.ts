// What the route handlers share: the store, the run manager, the config validator, authentication.
import crypto from 'node:crypto';
import type { Handler, RequestContext } from '../common/router';
import { readJson } from '../common/body';
import type { ExpconfValidator } from './expconf';
import type { RunManager } from './runs';
import type { ExperimentRecord, MasterStore, TrialRecord, UserRecord } from './store';
import { apiError } from './errors';

export const PASSWORD_SALT = 'GubPEmmotfiK9TMD6Zdw';

export interface MasterContext {
  store: MasterStore;
  runs: RunManager;
  validator: ExpconfValidator;
  url: () => string;
  /** Default checkpoint storage merged into configs that have none (the master's own). */
  defaultCheckpointStorage: Record<string, unknown>;
}

export type AuthedHandler = (ctx: RequestContext, user: UserRecord) => Promise<void> | void;

export function hashPassword(password: string): string {
  return password ? crypto.createHash('sha512').update(PASSWORD_SALT + password).digest('hex') : '';
}

/**
 * The token from `Authorization: Bearer` or, failing that, the `auth` cookie (as the master does); '' for an
 * Authorization header that is not a bearer token (no session has it), undefined when there is none.
 */
export function tokenOf(ctx: RequestContext): string | undefined {
  const header = ctx.req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return m ? m[1] : '';
  }
  const cookie = ctx.req.headers.cookie ?? '';
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'auth') return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** grpcutil.GetUser: no token 401 "token missing", an unknown one 401, an inactive user's 403. */
export function authed(master: MasterContext, handler: AuthedHandler): Handler {
  return (ctx) => {
    const token = tokenOf(ctx);
    if (token === undefined) throw apiError('Unauthenticated', 'token missing');
    const session = master.store.state.sessions.find((s) => s.token === token);
    const user = session && master.store.user(session.userId);
    if (!user) throw apiError('Unauthenticated', 'invalid credentials');
    if (!user.active) throw apiError('PermissionDenied', 'user does not have permission');
    return handler(ctx, user);
  };
}

export function readApiJson<T = Record<string, unknown>>(ctx: RequestContext): Promise<T> {
  return readJson<T>(ctx.req, (m) => apiError('InvalidArgument', m));
}

/** An integer path or query parameter, or a 400 naming it. */
export function intParam(value: string | null | undefined, name: string, fallback?: number): number {
  if ((value === null || value === undefined || value === '') && fallback !== undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw apiError('InvalidArgument', `${name}: invalid integer ${JSON.stringify(value)}`);
  return n;
}

/** An enum query parameter given by name or number, or a 400 listing the allowed names. */
export function enumParam<T extends string>(value: string | null, name: string, values: readonly T[], fallback: T): T {
  if (value === null || value === '') return fallback;
  const byNumber = /^\d+$/.test(value) ? values[Number(value)] : undefined;
  const found = byNumber ?? values.find((v) => v === value);
  if (!found) throw apiError('InvalidArgument', `${name}: ${JSON.stringify(value)} is not one of ${values.join(', ')}`);
  return found;
}

export const ORDER_BY = ['ORDER_BY_UNSPECIFIED', 'ORDER_BY_ASC', 'ORDER_BY_DESC'] as const;
export type OrderBy = (typeof ORDER_BY)[number];

/** The experiment a path parameter names, or a 404 (deleted experiments are gone). */
export function experimentOr404(store: MasterStore, id: string): ExperimentRecord {
  const exp = store.experiment(intParam(id, 'experimentId'));
  if (!exp || exp.state === 'STATE_DELETED') throw apiError('NotFound', `experiment not found: ${id}`);
  return exp;
}

/** The trial a path parameter names, or a 404. */
export function trialOr404(store: MasterStore, id: string): TrialRecord {
  const trial = store.trial(intParam(id, 'trialId'));
  if (!trial) throw apiError('NotFound', `trial not found: ${id}`);
  return trial;
}
