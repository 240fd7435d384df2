// How the worker and the CLI reach Temporal: a local dev server, a self-hosted cluster with TLS/mTLS,
// or Temporal Cloud with an API key. Read from the environment; validated with one clear message.
import fs from 'node:fs';
import { TASK_QUEUE } from '../common/ids';

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
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
  const address = env.TEMPORAL_ADDRESS || 'localhost:7233';
  if (!/^[^\s:]+:\d+$/.test(address)) problems.push(`TEMPORAL_ADDRESS: "${address}" is not host:port`);
  const ca = read('TEMPORAL_TLS_CA');
  const crt = read('TEMPORAL_TLS_CERT');
  const key = read('TEMPORAL_TLS_KEY');
  if (!!crt !== !!key) problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mTLS)');
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const wantsTls = env.TEMPORAL_TLS === 'true' || !!ca || !!crt || !!apiKey;
  if (problems.length) throw new Error(`invalid Temporal configuration: ${problems.join('; ')}`);
  return {
    address,
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.CT_TASK_QUEUE || TASK_QUEUE,
    tls: wantsTls
      ? {
          serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
          serverRootCACertificate: ca,
          clientCertPair: crt && key ? { crt, key } : undefined,
        }
      : undefined,
    apiKey,
  };
}

/** Options shared by NativeConnection (worker) and Connection (client). */
export function connectionOptions(config: TemporalConfig) {
  return {
    address: config.address,
    tls: config.tls,
    apiKey: config.apiKey,
    metadata: config.apiKey ? { 'temporal-namespace': config.namespace } : undefined,
  };
}
