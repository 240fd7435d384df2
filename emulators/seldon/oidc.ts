// A Keycloak-like OIDC issuer (realm `deploy-realm`) and the bearer-token check of the Seldon Deploy API.
// Tokens are ES256 JWTs signed with a key kept in the state directory, so they stay valid across restarts.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError, type Router } from '../common/router';
import { readBody, sendJson } from '../common/body';

export const REALM_PATH = '/auth/realms/deploy-realm';
export const TOKEN_PATH = `${REALM_PATH}/protocol/openid-connect/token`;
export const CERTS_PATH = `${REALM_PATH}/protocol/openid-connect/certs`;

export interface OidcClient {
  clientId: string;
  /** Absent for a public client (password grant only). */
  clientSecret?: string;
}

export interface OidcUser {
  username: string;
  password: string;
  email?: string;
}

export interface OidcOptions {
  /** Default: one confidential client `sd-api` with secret `sd-api-secret` (Seldon Deploy's documented default). */
  clients?: OidcClient[];
  /** Default: `admin@seldon.io` / `12341234` (the trial install's user). */
  users?: OidcUser[];
  /** Lifetime of issued tokens in seconds (fractions allowed, for tests). Default 300. */
  tokenTtlSeconds?: number;
}

export const DEFAULT_CLIENT: OidcClient = { clientId: 'sd-api', clientSecret: 'sd-api-secret' };
export const DEFAULT_USER: OidcUser = { username: 'admin@seldon.io', password: '12341234', email: 'admin@seldon.io' };

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  azp: string;
  exp: number;
  iat: number;
  typ: 'Bearer' | 'ID';
  preferred_username: string;
  email?: string;
}

const b64url = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');

/** The OAuth2 error body Keycloak answers with. */
function oauthError(status: number, error: string, description: string): HttpError {
  return new HttpError(status, { error, error_description: description });
}

export class OidcIssuer {
  private readonly privateKey: crypto.KeyObject;
  private readonly publicKey: crypto.KeyObject;
  private readonly keyId: string;
  readonly clients: OidcClient[];
  readonly users: OidcUser[];
  readonly tokenTtlSeconds: number;

  constructor(stateDir: string, opts: OidcOptions = {}) {
    this.clients = opts.clients ?? [DEFAULT_CLIENT];
    this.users = opts.users ?? [DEFAULT_USER];
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 300;
    if (!(this.tokenTtlSeconds > 0)) throw new Error('tokenTtlSeconds must be a positive number');
    for (const c of this.clients) if (!c.clientId) throw new Error('every OIDC client needs a clientId');
    for (const u of this.users) if (!u.username || !u.password) throw new Error('every OIDC user needs a username and a password');
    this.privateKey = loadOrCreateKey(path.join(stateDir, 'oidc-signing-key.pem'));
    this.publicKey = crypto.createPublicKey(this.privateKey);
    this.keyId = crypto.createHash('sha256').update(this.publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
  }

  /** Adds the realm's discovery, token and key routes. URLs use the request's Host, as a proxied Keycloak does. */
  addRoutes(router: Router): void {
    router.get(`${REALM_PATH}/.well-known/openid-configuration`, ({ req, res }) => {
      const base = baseUrlOf(req);
      const issuer = `${base}${REALM_PATH}`;
      sendJson(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
        token_endpoint: `${base}${TOKEN_PATH}`,
        jwks_uri: `${base}${CERTS_PATH}`,
        grant_types_supported: ['password', 'client_credentials'],
        response_types_supported: ['code', 'id_token', 'token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        scopes_supported: ['openid', 'email', 'profile', 'groups'],
      });
    });
    router.get(CERTS_PATH, ({ res }) => {
      const jwk = this.publicKey.export({ format: 'jwk' });
      sendJson(res, 200, { keys: [{ ...jwk, kid: this.keyId, use: 'sig', alg: 'ES256' }] });
    });
    router.post(TOKEN_PATH, async ({ req, res }) => {
      const form = await readForm(req);
      sendJson(res, 200, this.issue(form, req.headers.authorization, baseUrlOf(req)), { 'cache-control': 'no-store' });
    });
  }

  /** Handles a token request (form fields already parsed). */
  issue(form: URLSearchParams, authorization: string | undefined, baseUrl: string): Record<string, unknown> {
    const client = this.authenticateClient(form, authorization);
    const grant = form.get('grant_type');
    let subject: { sub: string; username: string; email?: string };
    if (grant === 'client_credentials') {
      if (!client.clientSecret) throw oauthError(401, 'unauthorized_client', 'Public client not allowed to retrieve service account');
      subject = { sub: `service-account-${client.clientId}`, username: `service-account-${client.clientId}` };
    } else if (grant === 'password') {
      const user = this.users.find((u) => u.username === form.get('username'));
      if (!user || user.password !== form.get('password')) throw oauthError(401, 'invalid_grant', 'Invalid user credentials');
      subject = { sub: `user-${user.username}`, username: user.username, email: user.email };
    } else if (!grant) {
      throw oauthError(400, 'invalid_request', 'Missing form parameter: grant_type');
    } else {
      throw oauthError(400, 'unsupported_grant_type', `Unsupported grant_type ${grant}`);
    }
    const nowSeconds = Date.now() / 1000;
    const base = {
      iss: `${baseUrl}${REALM_PATH}`,
      sub: subject.sub,
      aud: client.clientId,
      azp: client.clientId,
      iat: Math.floor(nowSeconds),
      // Fractional seconds are legal in a JWT NumericDate and let tests use sub-second lifetimes.
      exp: nowSeconds + this.tokenTtlSeconds,
      preferred_username: subject.username,
      ...(subject.email ? { email: subject.email } : {}),
    };
    return {
      access_token: this.sign({ ...base, typ: 'Bearer' }),
      id_token: this.sign({ ...base, typ: 'ID' }),
      expires_in: Math.ceil(this.tokenTtlSeconds),
      token_type: 'Bearer',
      'not-before-policy': 0,
      scope: form.get('scope') ?? 'openid email profile',
    };
  }

  /** Checks an `Authorization: Bearer <jwt>` header; returns the claims or a message saying what is wrong. */
  verifyBearer(authorization: string | undefined): { claims?: TokenClaims; error?: string } {
    if (!authorization) return { error: 'missing Authorization header: a bearer token is required' };
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) return { error: 'Authorization header must be "Bearer <token>"' };
    const parts = match[1].split('.');
    if (parts.length !== 3) return { error: 'bearer token is not a JWT issued by this realm' };
    const [header, payload, signature] = parts;
    const signed = crypto.verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key: this.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
    if (!signed) return { error: 'bearer token signature is invalid' };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return { error: 'bearer token payload is not JSON' };
    }
    // The signing key is this realm's own, so any host name the client used to reach the issuer is fine.
    if (typeof claims.iss !== 'string' || !claims.iss.endsWith(REALM_PATH)) return { error: 'bearer token was not issued by this realm' };
    if (!(claims.exp > Date.now() / 1000)) return { error: 'bearer token has expired' };
    return { claims };
  }

  private sign(claims: TokenClaims): string {
    const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: this.keyId }));
    const payload = b64url(JSON.stringify(claims));
    // JWS wants the raw r||s form of an ECDSA signature, not DER.
    const signature = crypto.sign('sha256', Buffer.from(`${header}.${payload}`), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${header}.${payload}.${b64url(signature)}`;
  }

  /** client_secret_basic (Authorization: Basic) or client_secret_post / public client_id in the form. */
  private authenticateClient(form: URLSearchParams, authorization: string | undefined): OidcClient {
    let clientId = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    const basic = authorization && /^Basic\s+(\S+)$/i.exec(authorization);
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw oauthError(401, 'invalid_client', 'Malformed Basic client credentials');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
    }
    if (!clientId) throw oauthError(400, 'invalid_client', 'Missing parameter: client_id');
    const client = this.clients.find((c) => c.clientId === clientId);
    if (!client) throw oauthError(401, 'invalid_client', `Invalid client or Invalid client credentials (${clientId})`);
    if (client.clientSecret !== undefined && client.clientSecret !== secret) {
      throw oauthError(401, 'unauthorized_client', 'Invalid client or Invalid client credentials');
    }
    return client;
  }
}

function baseUrlOf(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? '';
  const text = (await readBody(req, 1024 * 1024)).toString('utf8');
  if (!type.includes('application/x-www-form-urlencoded')) {
    throw oauthError(400, 'invalid_request', 'token requests must be application/x-www-form-urlencoded');
  }
  return new URLSearchParams(text);
}

function loadOrCreateKey(file: string): crypto.KeyObject {
  if (fs.existsSync(file)) return crypto.createPrivateKey(fs.readFileSync(file, 'utf8'));
  // P-256 (ES256): generated in a millisecond, unlike RSA.
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.renameSync(tmp, file);
  return privateKey;
}
