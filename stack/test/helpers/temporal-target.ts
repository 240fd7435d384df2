// The Temporal a system test runs against: the dev server (`temporal server start-dev`, the default) or the
// `cluster` local stack (the real server v1.32.2 on PostgreSQL, stack/temporal-cluster.ts). Either gives a
// client, a worker connection and close(); the cluster also gives itself (to kill a service, stop PostgreSQL).
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createLocalEnv } from 'continuous-training/test/helpers/temporal';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { clusterUnavailableReason, startTemporalCluster, type TemporalCluster, type TemporalClusterOptions } from '../../temporal-cluster';

export type TemporalKind = 'dev' | 'cluster';

export interface TemporalTarget {
  kind: TemporalKind;
  address: string;
  namespace: string;
  client: Client;
  nativeConnection: NativeConnection;
  /** The cluster stack, for kind `cluster`. */
  cluster?: TemporalCluster;
  close(): Promise<void>;
}

export const isCI = process.env.CI === 'true';

/**
 * The cluster tier runs where the cluster stack can start: skipped elsewhere with the reason (what to build or
 * install), except under CI=true, where a missing prerequisite fails it (a green CI must not hide a missing build).
 */
export const clusterUnavailable = clusterUnavailableReason();
export function describeOnCluster(name: string, fn: () => void): void {
  if (clusterUnavailable && !isCI) {
    console.warn(`${name}: skipped (${clusterUnavailable})`);
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}

/** A state folder under .state/ (gitignored), removed by close(). */
export function clusterStateDir(name: string): string {
  fs.mkdirSync(path.join(projectRoot, '.state'), { recursive: true });
  return fs.mkdtempSync(path.join(projectRoot, '.state', `${name}-`));
}

export async function startTemporalTarget(kind: TemporalKind, clusterOptions: Partial<TemporalClusterOptions> = {}): Promise<TemporalTarget> {
  if (kind === 'dev') {
    const env = await createLocalEnv();
    return {
      kind,
      address: env.connection.options.address,
      namespace: 'default',
      client: env.client,
      nativeConnection: env.nativeConnection,
      close: () => env.teardown(),
    };
  }
  if (clusterUnavailable) throw new Error(clusterUnavailable); // only reached under CI=true
  const stateDir = clusterOptions.stateDir ?? clusterStateDir('cluster-test');
  const removeState = () => {
    if (!clusterOptions.stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  };
  const cluster = await startTemporalCluster({ ui: false, ...clusterOptions, stateDir }).catch((err: unknown) => {
    removeState();
    throw err;
  });
  try {
    const connection = await Connection.connect({ address: cluster.address });
    const nativeConnection = await NativeConnection.connect({ address: cluster.address });
    return {
      kind,
      address: cluster.address,
      namespace: cluster.namespace,
      client: new Client({ connection, namespace: cluster.namespace }),
      nativeConnection,
      cluster,
      close: async () => {
        await nativeConnection.close().catch(() => undefined);
        await connection.close().catch(() => undefined);
        await cluster.close();
        removeState();
      },
    };
  } catch (err) {
    await cluster.close();
    removeState();
    throw err;
  }
}
