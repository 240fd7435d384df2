// How the worker, the watcher and the CLI reach Temporal: a local dev server, a self-hosted cluster with
// TLS/mTLS, or Temporal Cloud with an API key. Read by @temporalio/envconfig exactly as the `temporal` CLI
// and the SDKs read it: a profile of the TOML config file (TEMPORAL_CONFIG_FILE, else the user's
// ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else `default`), overridden by the standard
// variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
// TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
// TEMPORAL_TLS_SERVER_NAME, the *_DATA variants, TEMPORAL_GRPC_META_*). Validated with one clear message.
import fs from 'node:fs';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { TASK_QUEUE } from '../common/ids';
import { probeTls } from './tls-probe';

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS settings, `true` (TLS with the system's CAs), `false` (off even with an API key) or unset (off). */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  /** gRPC metadata of the profile (grpc_meta) and TEMPORAL_GRPC_META_*. */
  metadata?: Record<string, string>;
  /** What set the address, for error messages: `TEMPORAL_ADDRESS`, a profile of a file, or the default. */
  addressSource: string;
}

type Env = Record<string, string | undefined>;

/** Names this product once read instead of Temporal's: refused with the standard name, never silently ignored. */
const RENAMED: Record<string, string> = {
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
};
const PATH_VARIABLES = ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'];

export function loadTemporalConfig(rawEnv: Env = process.env): TemporalConfig {
  // Compose and Helm pass an unset setting as an empty string: that means "not set" (envconfig would take
  // an empty API key as a key, and turn TLS on for it). An empty TEMPORAL_GRPC_META_* removes a header.
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawEnv)) {
    if (value !== undefined && (value !== '' || name.startsWith('TEMPORAL_GRPC_META_'))) env[name] = value;
  }
  const problems: string[] = [];
  for (const [old, standard] of Object.entries(RENAMED)) {
    if (env[old]) problems.push(`${old} is not read: Temporal's name for it is ${standard}`);
  }
  for (const name of PATH_VARIABLES) {
    const file = env[name];
    if (file && !readable(file)) problems.push(`${name}: cannot read ${file}`);
  }
  if (env.TEMPORAL_TLS !== undefined && !['true', 'false', '1', '0'].includes(env.TEMPORAL_TLS)) {
    problems.push(`TEMPORAL_TLS: "${env.TEMPORAL_TLS}" is not true or false`);
  }
  const file = env.TEMPORAL_CONFIG_FILE;
  // envconfig takes a missing file as an empty one; a file named explicitly must exist.
  if (file && !readable(file)) problems.push(`TEMPORAL_CONFIG_FILE: cannot read ${file}`);
  const profileName = env.TEMPORAL_PROFILE ?? 'default';
  const fileName = file ?? 'the Temporal CLI config file (~/.config/temporalio/temporal.toml)';
  const load = (disableEnv: boolean): ClientConfigProfile =>
    loadClientConfigProfile({ overrideEnvVars: env, disableEnv, configFileStrict: true });
  let fromFile: ClientConfigProfile = {};
  let profile: ClientConfigProfile = {};
  let options: ReturnType<typeof toClientOptions> = { connectionOptions: {} };
  if (!problems.length) {
    try {
      fromFile = load(true);
      profile = load(false);
      options = toClientOptions(profile); // reads the TLS files
    } catch (err) {
      problems.push(`profile "${profileName}" of ${fileName}: ${(err as Error).message}`);
    }
  }
  if (!!profile.tls?.clientCert !== !!profile.tls?.clientKey) {
    problems.push(
      'mTLS needs both the client certificate and its key (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or client_cert_path and client_key_path of the profile)',
    );
  }
  const { connectionOptions } = options;
  const address = connectionOptions.address ?? 'localhost:7233';
  if (!/^[^\s:]+:\d+$/.test(address)) problems.push(`TEMPORAL_ADDRESS: "${address}" is not host:port`);
  if (problems.length) throw new Error(`invalid Temporal configuration: ${problems.join('; ')}`);
  return {
    address,
    namespace: options.namespace ?? 'default',
    taskQueue: env.CT_TASK_QUEUE ?? TASK_QUEUE,
    tls: connectionOptions.tls ?? undefined,
    apiKey: typeof connectionOptions.apiKey === 'string' ? connectionOptions.apiKey : undefined,
    metadata: profile.grpcMeta,
    addressSource: env.TEMPORAL_ADDRESS
      ? 'TEMPORAL_ADDRESS'
      : fromFile.address
        ? `profile "${profileName}" of ${fileName}`
        : 'the default: set TEMPORAL_ADDRESS or a profile',
  };
}

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Options shared by NativeConnection (worker) and Connection (client). */
export function connectionOptions(config: TemporalConfig) {
  return {
    address: config.address,
    tls: config.tls,
    apiKey: config.apiKey,
    metadata: config.apiKey || config.metadata ? { ...config.metadata, ...(config.apiKey ? { 'temporal-namespace': config.namespace } : {}) } : undefined,
  };
}

/**
 * One line for a failed connection: where, what set the address, how (TLS, API key), the transport's reason
 * (with the server's, when it answered) and, for TLS, what a handshake with the same settings says.
 */
export async function cannotReach(config: TemporalConfig, err: unknown): Promise<Error> {
  const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];
  const cause = err instanceof Error && err.cause ? `: ${firstLine(err.cause)}` : '';
  const tls = await probeTls(config).catch(() => undefined);
  const how = [config.tls ? 'TLS' : 'no TLS', ...(config.apiKey ? ['API key'] : [])].join(', ');
  return new Error(`cannot reach Temporal at ${config.address} (from ${config.addressSource}; ${how}): ${firstLine(err)}${cause}${tls ? `; ${tls}` : ''}`);
}
