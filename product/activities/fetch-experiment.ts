// fetchExperiment: resolves the experiment code to an exact git commit in the worker's cache and reads
// its config; the files stay in the cache (submitExperiment fetches the same sha again if they are gone).
import { Context } from '@temporalio/activity';
import type { ExperimentCode, FetchExperimentInput } from '../common/types';
import type { Clients } from './clients';
import { heartbeatDuring } from './heartbeat';
import { readExperimentConfig, searcherOf } from './experiment-config';
import { listModelDefinition } from './determined/model-definition';

export async function fetchExperiment(clients: Clients, { source }: FetchExperimentInput): Promise<ExperimentCode> {
  const signal = Context.current().cancellationSignal;
  const { sha, dir } = await heartbeatDuring(
    (async () => {
      const sha = await clients.code.resolve(source, source.ref, signal);
      return { sha, dir: await clients.code.checkout(source, sha, signal) };
    })(),
    () => ({ phase: 'git-fetch', url: source.gitUrl, ref: source.ref }),
  );
  const config = await readExperimentConfig(dir, source);
  const { metric, smallerIsBetter } = searcherOf(config, source.configFile);
  const entries = await listModelDefinition(dir);
  const files = entries.filter((e) => !e.isDir);
  return {
    source,
    sha,
    files: files.length,
    bytes: files.reduce((sum, e) => sum + e.size, 0),
    experimentName: typeof config.name === 'string' ? config.name : '',
    searcherMetric: metric,
    smallerIsBetter,
  };
}
