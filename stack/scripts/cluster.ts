// `npm run cluster`: the Temporal cluster stack on its own (stack/temporal-cluster.ts), for a worker, the `ct`
// CLI or the UI to use: PostgreSQL, the four services, the namespace with our search attributes, the web UI.
// State in .state/cluster (kept between runs); Ctrl-C stops everything.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { startTemporalCluster } from '../temporal-cluster';

const { values: args } = parseArgs({
  options: {
    'state-dir': { type: 'string' },
    layout: { type: 'string', default: 'services' },
    port: { type: 'string', default: '7233' },
    'ui-port': { type: 'string', default: '8233' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(`npm run cluster [-- --state-dir DIR] [-- --layout services|single] [-- --port 7233] [-- --ui-port 8233]
  The real Temporal server on PostgreSQL, one process per service (--layout single: one process), until Ctrl-C.`);
  process.exit(0);
}
if (args.layout !== 'services' && args.layout !== 'single') {
  console.error(`--layout must be services or single, not ${args.layout}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const stateDir = path.resolve(args['state-dir'] ?? path.join(projectRoot, '.state', 'cluster'));
  const cluster = await startTemporalCluster({
    stateDir,
    layout: args.layout as 'services' | 'single',
    ports: { frontend: Number(args.port), ui: Number(args['ui-port']) },
  });
  console.log(`Temporal cluster at ${cluster.address} (namespace ${cluster.namespace}, ${cluster.historyShards} history shards, PostgreSQL :${cluster.postgres.port})`);
  for (const s of cluster.services) console.log(`  ${s.name.padEnd(9)} pid ${s.pid()}`);
  console.log(`UI ${cluster.uiUrl}; logs in ${cluster.logDir}; Ctrl-C stops it all.`);
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await cluster.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`cluster failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
