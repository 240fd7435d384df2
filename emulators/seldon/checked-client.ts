// A minimal Seldon Deploy HTTP client that checks every request it sends and every answer it gets against the
// real specs (swagger + CRD). Tests use it to prove the emulator's wire format; anyone can use it the same way
// to check what their own code would send.
import { SELDON_DEPLOY_BASE_PATH, loadSeldonContract, type SeldonContract } from './contract';

export interface CheckedResponse<T = unknown> {
  status: number;
  body: T;
}

export class ContractViolation extends Error {}

export class CheckedSeldonClient {
  readonly contract: SeldonContract = loadSeldonContract();
  /** Every violation seen, `METHOD path: problem` (also thrown, unless `throwOnViolation` is false). */
  readonly violations: string[] = [];
  token?: string;

  constructor(
    /** The emulator's (or a real Deploy's) base URL, without `/seldon-deploy/...`. */
    readonly baseUrl: string,
    private readonly opts: { clientId?: string; clientSecret?: string; throwOnViolation?: boolean } = {},
  ) {}

  /** Gets a token with the client-credentials grant (what the original deploy pipeline does). */
  async login(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const basic = Buffer.from(`${this.opts.clientId ?? 'sd-api'}:${this.opts.clientSecret ?? 'sd-api-secret'}`).toString('base64');
    const res = await fetch(`${this.baseUrl}/auth/realms/deploy-realm/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: form,
    });
    const body = (await res.json()) as { id_token?: string; access_token?: string; error_description?: string };
    if (res.status !== 200) throw new Error(`token request failed (${res.status}): ${body.error_description}`);
    this.token = body.id_token ?? body.access_token;
    return this.token as string;
  }

  /**
   * Calls `method path` under the API base path (e.g. `/namespaces/seldon/seldondeployments`). The request body
   * is checked against the operation's body schema and the answer against the response schema of its status;
   * SeldonDeployment bodies are checked against the CRD as well. `checkRequest: false` sends a deliberately bad body.
   */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: { checkRequest?: boolean; headers?: Record<string, string> } = {},
  ): Promise<CheckedResponse<T>> {
    if (body !== undefined && opts.checkRequest !== false) {
      this.check(method, path, 'request', this.contract.validateRequest(method, path, body).errors);
    }
    const res = await fetch(`${this.baseUrl}${SELDON_DEPLOY_BASE_PATH}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...opts.headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      this.check(method, path, 'response', [`body is not JSON: ${text.slice(0, 200)}`]);
    }
    this.check(method, path, `response ${res.status}`, this.contract.validateResponse(method, path, res.status, parsed).errors);
    if (res.status === 200 && isSeldonDeployment(parsed)) {
      this.check(method, path, 'response (CRD)', this.contract.validateSeldonDeployment(parsed).errors);
    }
    return { status: res.status, body: parsed as T };
  }

  private check(method: string, path: string, what: string, errors: string[]): void {
    if (errors.length === 0) return;
    const message = `${method} ${path} ${what}: ${errors.join('; ')}`;
    this.violations.push(message);
    if (this.opts.throwOnViolation !== false) throw new ContractViolation(message);
  }
}

function isSeldonDeployment(value: unknown): boolean {
  return !!value && typeof value === 'object' && (value as { kind?: unknown }).kind === 'SeldonDeployment';
}
