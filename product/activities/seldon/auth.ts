// OIDC tokens for Seldon Deploy: the token endpoint is discovered from the issuer, the grant is
// client-credentials (client secret) or password (user and password), and the token is renewed shortly
// before it expires and whenever the API answers 401. Like the SDK, the id_token is preferred.
import type { ConnectionsConfig } from '../config';
import { ErrorType } from '../../common/errors';
import { HttpClient, type AuthProvider } from '../http/client';
import { failure } from '../http/errors';

interface TokenResponse {
  access_token?: string;
  id_token?: string;
  expires_in?: number;
}

/** Renew this long before the token's announced expiry. */
const EXPIRY_MARGIN_MS = 30_000;

export class SeldonOidcAuth implements AuthProvider {
  private tokenEndpoint: string | null = null;
  private current: Promise<{ token: string; expiresAt: number }> | null = null;

  constructor(
    private readonly http: HttpClient,
    private readonly settings: ConnectionsConfig['seldon'],
  ) {}

  async headers(): Promise<Record<string, string>> {
    let token = this.current ? await this.current.catch(() => null) : null;
    if (!token || Date.now() >= token.expiresAt) {
      this.current = this.fetchToken();
      token = await this.current.catch((err: unknown) => {
        this.current = null; // a failed fetch is not cached
        throw err;
      });
    }
    return { authorization: `Bearer ${token.token}` };
  }

  async refresh(): Promise<void> {
    this.current = null;
  }

  private async fetchToken(): Promise<{ token: string; expiresAt: number }> {
    const endpoint = await this.discoverTokenEndpoint();
    const s = this.settings;
    const form = new URLSearchParams({ client_id: s.clientId, scope: 'openid' });
    if (s.username && s.password) {
      form.set('grant_type', 'password');
      form.set('username', s.username);
      form.set('password', s.password);
    } else {
      form.set('grant_type', 'client_credentials');
    }
    if (s.clientSecret) form.set('client_secret', s.clientSecret);
    const grant = form.get('grant_type');
    let res: TokenResponse;
    try {
      res = await this.http.json<TokenResponse>({
        method: 'POST',
        path: endpoint,
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        uncancellable: true, // shared by concurrent activities
      });
    } catch (err) {
      const f = err as { type?: string; message?: string };
      // OIDC answers 400 invalid_grant / 401 invalid_client for wrong credentials.
      if (f.type === ErrorType.Unauthenticated || f.type === ErrorType.BadRequest) {
        throw failure(ErrorType.Unauthenticated, `Seldon OIDC ${grant} grant for client ${JSON.stringify(s.clientId)} failed: ${f.message}`, true);
      }
      throw err;
    }
    const token = res.id_token ?? res.access_token;
    if (!token) throw failure(ErrorType.Unauthenticated, `Seldon OIDC token endpoint ${endpoint} returned no token`, true);
    const lifetimeMs = (res.expires_in ?? 300) * 1000;
    return { token, expiresAt: Date.now() + Math.max(lifetimeMs - EXPIRY_MARGIN_MS, lifetimeMs / 2) };
  }

  private async discoverTokenEndpoint(): Promise<string> {
    if (this.tokenEndpoint) return this.tokenEndpoint;
    const doc = await this.http.json<{ token_endpoint?: string }>({
      method: 'GET',
      path: `${this.settings.oidcIssuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
      uncancellable: true,
    });
    if (!doc.token_endpoint) {
      throw failure(ErrorType.Unauthenticated, `OIDC discovery at ${this.settings.oidcIssuer} has no token_endpoint`, true);
    }
    this.tokenEndpoint = doc.token_endpoint;
    return doc.token_endpoint;
  }
}
