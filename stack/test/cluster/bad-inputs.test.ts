// Bad inputs on the cluster stack, each one clear message from the worker process (`product/worker/main.ts`, as
// deployed), and no run lost: the cluster unreachable at start, a namespace that does not exist, a namespace
// without our search attributes (the worker names them and how to register them), PostgreSQL down at start. A
// pipeline started before the bad workers ran completes once a correct worker runs.
import fs from 'node:fs';
import { spawnWorker } from '../reliability/helpers/worker-process';
import { freePort } from '../../processes';
import { startLocalStack, type LocalStack } from '../../local-stack';
import { commitData, uniquePipeline, waitForPipeline } from '../reliability/helpers/testbed';
import { runWatcher } from 'continuous-training/client/watcher';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { EffectsReader, expectExactlyOnce } from '../reliability/helpers/effects';
import { clusterStateDir, describeOnCluster, startTemporalTarget, type TemporalTarget } from '../helpers/temporal-target';

describeOnCluster('cluster bad inputs: one clear message each, no run lost', () => {
  let target: TemporalTarget;
  let stack: LocalStack;
  const taskQueue = 'cluster-bad-inputs';
  const abort = new AbortController();
  let watcherDone: Promise<void> | undefined;

  const stackDir = clusterStateDir('cluster-bad-stack');

  beforeAll(async () => {
    target = await startTemporalTarget('cluster');
    stack = await startLocalStack({ stateDir: stackDir, mode: 'simulated' });
  }, 300_000);

  afterAll(async () => {
    abort.abort();
    await watcherDone?.catch(() => undefined);
    await stack?.close();
    await target?.close();
    fs.rmSync(stackDir, { recursive: true, force: true });
  }, 120_000);

  /** A worker process that must exit before starting; returns its last line (the message) and all its lines. */
  async function failingWorker(env: { address?: string; namespace?: string }): Promise<{ message: string; lines: string[] }> {
    const err = await spawnWorker({
      temporalAddress: env.address ?? target.address,
      namespace: env.namespace ?? target.namespace,
      taskQueue,
      connections: stack.connections,
      startTimeoutMs: 120_000,
    }).then(
      async (w) => {
        await w.kill();
        throw new Error('the worker started');
      },
      (e: Error) => e,
    );
    expect(err.message).toMatch(/^worker exited \(1\) before it started:/);
    const lines = err.message.split('\n').slice(1).filter((l) => l.trim());
    // The worker's last word: one JSON log record (worker/json-log.ts), level error.
    const last = JSON.parse(lines[lines.length - 1] ?? '{}') as { level?: string; message?: string };
    expect(last.level).toBe('error');
    return { message: last.message ?? '', lines };
  }

  test('the cluster unreachable at start: the worker says where it tried and what to check', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const { message } = await failingWorker({ address });
    expect(message).toMatch(new RegExp(`^cannot reach Temporal at ${address} \\(from TEMPORAL_ADDRESS; no TLS\\): .+`));
  }, 180_000);

  test('a namespace that does not exist: the worker names it and how to create it', async () => {
    const { message } = await failingWorker({ namespace: 'no-such-namespace' });
    expect(message).toBe(
      'Temporal namespace "no-such-namespace" does not exist: create it (temporal operator namespace create -n no-such-namespace, or deploy/temporal/setup-namespace.sh) or set TEMPORAL_NAMESPACE to an existing one',
    );
  }, 180_000);

  test('a namespace without our search attributes: the worker names each one and the command that registers it', async () => {
    // The namespace exists (created by the same script, with one unrelated attribute) but has none of ours.
    const setup = await target.cluster!.setupNamespace('ct-bare', 'Unrelated=Keyword');
    expect(setup.code).toBe(0);
    const { message } = await failingWorker({ namespace: 'ct-bare' });
    expect(message).toMatch(/^Temporal namespace "ct-bare" lacks search attributes the workflows set: CtPipeline \(KEYWORD\), CtRepo \(KEYWORD\), .*CtModelVersion \(INT\).*\. Register them: temporal operator search-attribute create -n ct-bare --name CtPipeline --type Keyword && /);
    for (const name of ['CtPipeline', 'CtRepo', 'CtCommit', 'CtModelName', 'CtModelVersion', 'CtExperimentId', 'CtDeploymentName', 'CtStep']) {
      expect(message).toContain(`--name ${name} --type`);
    }
  }, 180_000);

  test('PostgreSQL down at start: the worker says the cluster cannot serve the namespace; a run started before completes once it is back', async () => {
    // A pipeline committed before the outage, with no worker yet: its training waits on the task queue.
    const p = uniquePipeline(stack, 'cb-pg-down');
    watcherDone = runWatcher({ client: target.client, taskQueue, pipelines: [p], pachd: new PachydermClient(stack.connections), signal: abort.signal, retryDelayMs: 200, log: () => undefined });
    const commit = await commitData(stack, p, 1);
    await new Promise((r) => setTimeout(r, 2000));
    await target.cluster!.postgres.stop();
    try {
      const { message } = await failingWorker({});
      // The frontend is up and answers; the namespace lookup finds no database connection.
      expect(message).toMatch(/^Temporal answers but cannot serve namespace "default": .*no usable database connection.* \(is its database up\?\)$/);
    } finally {
      await target.cluster!.postgres.start();
    }
    const worker = await spawnWorker({ temporalAddress: target.address, namespace: target.namespace, taskQueue, connections: stack.connections });
    try {
      const run = await waitForPipeline(target.client, p, commit, 240_000);
      expect(run.deployment?.status).toBe('deployed');
      expectExactlyOnce(await new EffectsReader(stack.connections).read(p), [commit]);
    } finally {
      await worker.kill();
    }
  }, 420_000);
});
