// The worker's connection settings for Pachyderm, Determined and Seldon Deploy. They come from the
// worker's environment, never from workflow input: tokens and passwords must not enter workflow histories.
import os from 'node:os';
import path from 'node:path';

export interface ConnectionsConfig {
  pachyderm: {
    /** REST gateway base, e.g. http://localhost:1659. */
    url: string;
    token?: string;
    /** The address the experiment uses to reach pachd (it runs inside the cluster); defaults from `url`. */
    experimentHost: string;
    experimentPort: number;
    /**
     * What pachd token the experiment config carries (PACHD_EXPERIMENT_TOKEN): `robot` (default) a robot
     * token minted per run that can only read the input repo and expires after training.timeout; `worker`
     * this worker's own token (what every config held before); `none` no token (the experiment brings its own).
     */
    experimentToken?: ExperimentTokenMode;
  };
  determined: { url: string; user: string; password: string };
  seldon: {
    /** Base URL; the API lives under `/seldon-deploy/api/v1alpha1`. */
    url: string;
    oidcIssuer: string;
    clientId: string;
    clientSecret?: string;
    username?: string;
    password?: string;
  };
  /** Per-request timeout for ordinary calls (streams are bounded by inactivity instead). */
  timeoutMs: number;
  tls?: { caFile?: string; insecureSkipVerify?: boolean };
  /** Worker-local cache (git checkouts of experiment code). */
  cacheDir: string;
}

export const EXPERIMENT_TOKEN_MODES = ['robot', 'worker', 'none'] as const;
export type ExperimentTokenMode = (typeof EXPERIMENT_TOKEN_MODES)[number];

type Env = Record<string, string | undefined>;

/** Reads the configuration from the environment; throws one error naming every missing or invalid variable. */
export function loadConnectionsConfig(env: Env = process.env): ConnectionsConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const required = (name: string): string => {
    const v = value(name);
    if (!v) problems.push(`${name} is required`);
    return v ?? '';
  };
  const url = (name: string, required_: boolean): string => {
    const v = required_ ? required(name) : value(name);
    if (!v) return '';
    // A bare host:port (the original's DET_MASTER style) gets http://.
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`;
    try {
      const parsed = new URL(withScheme);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      problems.push(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`);
      return '';
    }
    return withScheme.replace(/\/+$/, '');
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string): boolean | undefined => {
    const v = value(name)?.toLowerCase();
    if (v === undefined) return undefined;
    if (['1', 'true', 'yes'].includes(v)) return true;
    if (['0', 'false', 'no'].includes(v)) return false;
    problems.push(`${name} must be true or false, got ${JSON.stringify(v)}`);
    return undefined;
  };

  const pachdUrl = url('PACHD_URL', true);
  const determinedUrl = url('DET_MASTER', true);
  const determinedUser = required('DET_USER');
  // An empty password is legal in Determined (the default `determined` user has none).
  const determinedPassword = env.DET_PASSWORD ?? '';
  const seldonUrl = url('SELDON_URL', true);
  const oidcIssuer = url('SELDON_OIDC_ISSUER', false) || (seldonUrl ? `${seldonUrl}/auth/realms/deploy-realm` : '');
  const clientSecret = value('SELDON_CLIENT_SECRET');
  const username = value('SELDON_USER');
  const password = value('SELDON_PASSWORD');
  if (!clientSecret && !(username && password)) {
    problems.push('SELDON_CLIENT_SECRET (client-credentials grant) or SELDON_USER and SELDON_PASSWORD (password grant) are required');
  } else if (!!username !== !!password) {
    problems.push('SELDON_USER and SELDON_PASSWORD must be set together');
  }

  let defaultHost = 'localhost';
  let defaultPort = 1650;
  if (pachdUrl) {
    const parsed = new URL(pachdUrl);
    defaultHost = parsed.hostname;
    defaultPort = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  }
  const experimentHost = value('PACHD_EXPERIMENT_HOST') ?? defaultHost;
  const experimentPort = integer('PACHD_EXPERIMENT_PORT', defaultPort, 1, 65535);
  const experimentToken = (value('PACHD_EXPERIMENT_TOKEN') ?? 'robot') as ExperimentTokenMode;
  if (!EXPERIMENT_TOKEN_MODES.includes(experimentToken)) {
    problems.push(`PACHD_EXPERIMENT_TOKEN must be one of ${EXPERIMENT_TOKEN_MODES.join(', ')}, got ${JSON.stringify(experimentToken)}`);
  }
  const timeoutMs = integer('CT_HTTP_TIMEOUT_MS', 30_000, 100, 3_600_000);
  const insecure = bool('CT_TLS_INSECURE');
  const caFile = value('CT_TLS_CA_FILE');

  if (problems.length > 0) {
    throw new Error(`invalid worker configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    pachyderm: { url: pachdUrl, token: value('PACHD_TOKEN'), experimentHost, experimentPort, experimentToken },
    determined: { url: determinedUrl, user: determinedUser, password: determinedPassword },
    seldon: {
      url: seldonUrl,
      oidcIssuer,
      clientId: value('SELDON_CLIENT_ID') ?? 'sd-api',
      clientSecret,
      username,
      password,
    },
    timeoutMs,
    tls: caFile || insecure !== undefined ? { caFile, insecureSkipVerify: insecure } : undefined,
    cacheDir: value('CT_CACHE_DIR') ?? path.join(os.tmpdir(), 'ct-worker-cache'),
  };
}
