// How the worker and the CLI reach Temporal: a local dev server, a self-hosted cluster with TLS/mTLS,
// or Temporal Cloud with an API key. Read from the environment, over an optional envconfig profile (the
// TOML file of the Temporal CLI and SDKs: TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE); validated with one clear message.
import fs from 'node:fs';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile, type ClientConnectConfig } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { TASK_QUEUE } from '../common/ids';

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: TLSConfig;
  apiKey?: string;
  /** gRPC metadata of the envconfig profile (grpc_meta). */
  metadata?: Record<string, string>;
}

type Env = Record<string, string | undefined>;

export function loadTemporalConfig(env: Env = process.env): TemporalConfig {
  const problems: string[] = [];
  const read = (name: string): Buffer | undefined => {
    const file = env[name];
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
      return undefined;
    }
  };
  // The profile is the base; each variable below overrides its part of it. Strict: a misspelt key is an error.
  let profile: ClientConfigProfile = {};
  let base: ClientConnectConfig['connectionOptions'] = {};
  const profileFile = read('TEMPORAL_CONFIG_FILE');
  if (profileFile) {
    try {
      profile = loadClientConfigProfile({
        configSource: { data: profileFile },
        profile: env.TEMPORAL_PROFILE || undefined,
        disableEnv: true,
        configFileStrict: true,
      });
      base = toClientOptions(profile).connectionOptions; // reads the TLS files the profile names
    } catch (err) {
      problems.push(`TEMPORAL_CONFIG_FILE: ${env.TEMPORAL_CONFIG_FILE}: ${(err as Error).message}`);
    }
  } else if (env.TEMPORAL_PROFILE && !env.TEMPORAL_CONFIG_FILE) {
    problems.push('TEMPORAL_PROFILE needs TEMPORAL_CONFIG_FILE (the file that holds the profile)');
  }
  const baseTls: TLSConfig = (typeof base.tls === 'object' && base.tls) || {};

  const address = env.TEMPORAL_ADDRESS || base.address || 'localhost:7233';
  if (!/^[^\s:]+:\d+$/.test(address)) problems.push(`TEMPORAL_ADDRESS: "${address}" is not host:port`);
  const ca = read('TEMPORAL_TLS_CA');
  const crt = read('TEMPORAL_TLS_CERT');
  const key = read('TEMPORAL_TLS_KEY');
  if (!!crt !== !!key) problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mTLS)');
  const apiKey = env.TEMPORAL_API_KEY || profile.apiKey || undefined;
  // A profile's `tls.disabled = true` turns off the TLS an API key would imply.
  const wantsTls = env.TEMPORAL_TLS === 'true' || !!ca || !!crt || !!base.tls || (!!apiKey && base.tls !== false);
  if (problems.length) throw new Error(`invalid Temporal configuration: ${problems.join('; ')}`);
  return {
    address,
    namespace: env.TEMPORAL_NAMESPACE || profile.namespace || 'default',
    taskQueue: env.CT_TASK_QUEUE || TASK_QUEUE,
    tls: wantsTls
      ? {
          serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || baseTls.serverNameOverride,
          serverRootCACertificate: ca ?? baseTls.serverRootCACertificate,
          clientCertPair: crt && key ? { crt, key } : baseTls.clientCertPair,
        }
      : undefined,
    apiKey,
    metadata: profile.grpcMeta,
  };
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
