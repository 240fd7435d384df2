// Login, logout, the current user and the master's info: what the official Python client calls first.
import crypto from 'node:crypto';
import type { Router } from '../../common/router';
import { sendJson } from '../../common/body';
import { apiError } from '../errors';
import { authed, hashPassword, readApiJson, type MasterContext } from '../context';
import { userJson } from '../wire';

export const MASTER_VERSION = '0.38.1';
const CLUSTER_ID = 'ct-emulator-cluster';

function masterInfo(): Record<string, unknown> {
  return {
    version: MASTER_VERSION,
    masterId: 'ct-emulator-master',
    clusterId: CLUSTER_ID,
    clusterName: 'ct-emulator',
    telemetryEnabled: false,
    ssoProviders: [],
    externalLoginUri: '',
    externalLogoutUri: '',
    branding: 'determined',
    rbacEnabled: false,
    strictJobQueueControl: false,
    product: 'PRODUCT_UNSPECIFIED',
    userManagementEnabled: true,
    featureSwitches: [],
    hasCustomLogo: false,
  };
}

export function addAuthRoutes(router: Router, master: MasterContext): void {
  const { store } = master;

  router.post('/api/v1/auth/login', async (ctx) => {
    const body = await readApiJson<{ username?: unknown; password?: unknown; isHashed?: unknown }>(ctx);
    if (typeof body.username !== 'string' || !body.username) throw apiError('InvalidArgument', 'missing argument: username');
    const user = store.state.users.find((u) => u.username === body.username);
    const given = typeof body.password === 'string' ? body.password : '';
    const expected = body.isHashed === true ? hashPassword(user?.password ?? '') : (user?.password ?? '');
    // As master/internal/api_auth.go: an unknown user, a remote-only user and a wrong password get the same
    // 401 (nothing leaks which it was); only then is an inactive user told so, with a 403.
    if (!user || user.remote || given !== expected) throw apiError('Unauthenticated', 'invalid credentials');
    if (!user.active) throw apiError('PermissionDenied', 'user is not active');
    const token = `v2.public.${crypto.randomBytes(24).toString('base64url')}`;
    store.state.sessions.push({ token, userId: user.id, createdAt: new Date().toISOString() });
    store.save();
    // userTokenResponse in the master sets the `auth` cookie on login.
    sendJson(ctx.res, 200, { token, user: userJson(user) }, { 'set-cookie': `auth=${token}; Path=/; HttpOnly; SameSite=Lax` });
  });

  router.post(
    '/api/v1/auth/logout',
    authed(master, (ctx, _user) => {
      const header = ctx.req.headers.authorization?.replace(/^Bearer\s+/i, '');
      store.state.sessions = store.state.sessions.filter((s) => s.token !== header);
      store.save();
      sendJson(ctx.res, 200, {}, { 'set-cookie': 'auth=; Path=/; Max-Age=0' });
    }),
  );

  router.get('/api/v1/auth/user', authed(master, (ctx, user) => sendJson(ctx.res, 200, { user: userJson(user) })));
  router.get('/api/v1/me', authed(master, (ctx, user) => sendJson(ctx.res, 200, { user: userJson(user) })));
  router.get(
    '/api/v1/users',
    authed(master, (ctx) => {
      const users = store.state.users.map(userJson);
      sendJson(ctx.res, 200, { users, pagination: { offset: 0, limit: 0, startIndex: 0, endIndex: users.length, total: users.length } });
    }),
  );
  router.get(
    '/api/v1/users/:username/by-username',
    authed(master, (ctx) => {
      const user = store.state.users.find((u) => u.username === ctx.params.username);
      if (!user) throw apiError('NotFound', `user ${ctx.params.username} not found`);
      sendJson(ctx.res, 200, { user: userJson(user) });
    }),
  );
  router.get('/api/v1/master', (ctx) => sendJson(ctx.res, 200, masterInfo()));
  // The echo route /info answers snake_case JSON (not a gateway message).
  router.get('/info', (ctx) =>
    sendJson(ctx.res, 200, {
      version: MASTER_VERSION,
      master_id: 'ct-emulator-master',
      cluster_id: CLUSTER_ID,
      cluster_name: 'ct-emulator',
      telemetry_enabled: false,
      branding: 'determined',
      rbac_enabled: false,
      product: 0,
      user_management_enabled: true,
    }),
  );
}
