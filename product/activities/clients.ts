// The clients every activity shares: built once per worker from its configuration.
import type { ConnectionsConfig } from './config';
import { createAgents } from './http/client';
import { PachydermClient } from './pachyderm/client';
import { DeterminedClient } from './determined/client';
import { SeldonClient } from './seldon/client';
import { ExperimentCodeCache } from './git/code-cache';

export interface Clients {
  config: ConnectionsConfig;
  pachyderm: PachydermClient;
  determined: DeterminedClient;
  seldon: SeldonClient;
  code: ExperimentCodeCache;
}

export function createClients(config: ConnectionsConfig): Clients {
  const agents = createAgents(config);
  return {
    config,
    pachyderm: new PachydermClient(config, agents),
    determined: new DeterminedClient(config, agents),
    seldon: new SeldonClient(config, agents),
    code: new ExperimentCodeCache(config.cacheDir),
  };
}
