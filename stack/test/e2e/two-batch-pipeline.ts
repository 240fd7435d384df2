// The whole product on a laptop: the real Temporal dev server, the real activities, the watcher, and
// the emulators running the real example experiment and the real serving image. Two commits of data
// become version 1 and then version 2 (continued from version 1's checkpoint), each deployed and
// answering predictions from its own trained weights. Run against the pachd emulator (pipeline.test.ts),
// against Pachyderm's own pachd (real-pachd/pipeline.test.ts), and on the Temporal cluster stack
// (cluster/pipeline.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { startTemporalTarget, type TemporalKind, type TemporalTarget } from '../helpers/temporal-target';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local-stack';
import { demoPipeline } from '../../demo-pipeline';
import { demoBatch, demoProbe, predict } from '../../demo-data';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { runWatcher } from 'continuous-training/client/watcher';
import { createWorker } from 'continuous-training/worker/create-worker';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { PachdError, PachdRestClient } from '@continuous-training/emulators/pachyderm/client';
import { deploymentQueueWorkflowId, repositoryWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import { deployerStatusQuery, repositoryStatusQuery } from 'continuous-training/workflows';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { testWorkflowBundlePath } from 'continuous-training/test/helpers/workflow-bundle';

/** Registers the suite: beforeAll starts the stack with the given pachd and Temporal, afterAll stops it. */
export function twoBatchPipelineSuite(pachyderm: NonNullable<LocalStackOptions['pachyderm']>, temporalKind: TemporalKind = 'dev'): void {
  let env: TemporalTarget;
  let stack: LocalStack;
  let worker: Worker;
  let workerDone: Promise<void>;
  let pipeline: PipelineSpec;
  const abort = new AbortController();
  let watcherDone: Promise<void>;
  let stateDir: string | undefined;
  const taskQueue = 'e2e';
  const watcherLog: string[] = [];
  /** The experiments' own pachd tokens, read from their configs: no history may hold them either. */
  const experimentTokens: string[] = [];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-e2e-'));
    env = await startTemporalTarget(temporalKind);
    stack = await startLocalStack({ stateDir, pachdAuth: true, pachyderm });
    pipeline = demoPipeline(stack.experimentRepo);
    worker = await createWorker({ connection: env.nativeConnection, namespace: env.namespace, taskQueue, connections: stack.connections , workflowBundlePath: testWorkflowBundlePath() });
    workerDone = worker.run();
    watcherDone = runWatcher({
      client: env.client,
      taskQueue,
      pipelines: [pipeline],
      pachd: new PachydermClient(stack.connections),
      signal: abort.signal,
      retryDelayMs: 200,
      log: (event, fields) => watcherLog.push(`${event} ${JSON.stringify(fields)}`),
    });
  }, 240_000);

  afterAll(async () => {
    abort.abort();
    await watcherDone?.catch(() => undefined);
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await workerDone?.catch(() => undefined);
    await stack?.close();
    await env?.close();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  }, 120_000);

  async function waitForDeployment(outputCount: number): Promise<void> {
    const deployer = env.client.workflow.getHandle(deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name));
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        const status = await deployer.query(deployerStatusQuery);
        const failed = status.recent.find((r) => r.outcome === 'failed');
        if (failed) throw new Error(`deployment failed: ${failed.detail}`);
        if (status.recent.filter((r) => r.outcome === 'completed').length >= outputCount && !status.running) return;
      } catch (err) {
        if (!/not found/i.test((err as Error).message)) throw err;
      }
      if (Date.now() > deadline) {
        const repo = await env.client.workflow.getHandle(repositoryWorkflowId(pipeline.input)).query(repositoryStatusQuery).catch((e) => String(e));
        throw new Error(`no deployment in time; repository: ${JSON.stringify(repo)}; watcher: ${watcherLog.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  test('commit → train from scratch → register → publish → deploy → detectors → predictions; then a delta → continued → version 2', async () => {
    const pachd = { url: stack.pachd.url, authToken: stack.connections.pachyderm.token };
    const first = await putFiles(pachd, pipeline.input.repo, pipeline.input.branch, demoBatch(1), { description: 'batch 1' });
    await waitForDeployment(1);
    const triangle = demoProbe('triangle');
    const v1 = await predict(stack.seldon.url, pipeline.deployment.namespace, pipeline.deployment.name, triangle);
    expect(v1.registryVersion).toBe('1');
    expect(v1.label).not.toBe('triangle'); // batch 1 has no triangles

    const training1 = await env.client.workflow.getHandle(trainingWorkflowId(pipeline.modelName, first)).result();
    expect(training1.status).toBe('trained');

    const second = await putFiles(pachd, pipeline.input.repo, pipeline.input.branch, demoBatch(2), { description: 'batch 2' });
    await waitForDeployment(2);
    const training2 = await env.client.workflow.getHandle(trainingWorkflowId(pipeline.modelName, second)).result();
    expect(training2).toMatchObject({ status: 'trained', baseCommit: first });
    if (training2.status !== 'trained') return;
    expect(training2.modelVersion.version).toBe(2);

    // Version 2 learnt triangles from the delta, which version 1 had never seen.
    const v2 = await predict(stack.seldon.url, pipeline.deployment.namespace, pipeline.deployment.name, triangle);
    expect(v2.registryVersion).toBe('2');
    expect(v2.label).toBe('triangle');
    expect(v2.probabilities.triangle).toBeGreaterThan(v1.probabilities.triangle);
  }, 400_000);

  // Issue 19.11: anyone who can read experiments reads their configs; the worker's pachd token is not in them.
  test("no experiment config holds the worker's pachd token: each has a robot token that reads the input repo only", async () => {
    const { determined } = stack.connections;
    const login = await fetch(`${determined.url}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ username: determined.user, password: determined.password }) });
    const headers = { authorization: `Bearer ${((await login.json()) as { token: string }).token}` };
    const list = (await (await fetch(`${determined.url}/api/v1/experiments?limit=100`, { headers })).json()) as { experiments: { id: number }[] };
    expect(list.experiments.length).toBeGreaterThanOrEqual(2);
    const workerToken = String(stack.connections.pachyderm.token);
    for (const { id } of list.experiments) {
      const { config } = (await (await fetch(`${determined.url}/api/v1/experiments/${id}`, { headers })).json()) as { config: Record<string, unknown> };
      expect(JSON.stringify(config)).not.toContain(workerToken);
      const token = String((config.data as { pachyderm: { token?: string } }).pachyderm.token);
      experimentTokens.push(token);
      const asExperiment = new PachdRestClient({ url: stack.pachd.url, authToken: token });
      const who = await asExperiment.call<{ username: string; expiration: string | null }>('auth_v2.API/WhoAmI', {});
      expect(who.username).toBe(`robot:ct-reader/${pipeline.input.project}/${pipeline.input.repo}`);
      expect(who.expiration).not.toBeNull();
      // It cannot write to the input repo, nor read the model's output repo.
      const refused = (p: Promise<unknown>) => p.then(() => 0, (e: unknown) => (e instanceof PachdError ? e.httpStatus : -1));
      const repo = (r: { project: string; repo: string }) => ({ name: r.repo, type: 'user', project: { name: r.project } });
      expect(await refused(asExperiment.call('pfs_v2.API/StartCommit', { branch: { repo: repo(pipeline.input), name: pipeline.input.branch } }))).toBe(403);
      expect(await refused(asExperiment.list('pfs_v2.API/ListCommit', { repo: repo(pipeline.output) }))).toBe(403);
    }
  });

  test("no token or password of the three systems (nor any experiment's pachd token) appears in any workflow history", async () => {
    const secrets = [stack.connections.pachyderm.token, stack.connections.determined.password, stack.connections.seldon.clientSecret, ...experimentTokens];
    expect(secrets.every((s) => typeof s === 'string' && s.length >= 8)).toBe(true);
    let histories = 0;
    for await (const wf of env.client.workflow.list()) {
      const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const text = textOf(history);
      expect(text).toContain(pipeline.deployment.name); // the payloads were decoded: a secret would show
      for (const secret of secrets) expect(text.includes(secret!)).toBe(false);
      histories++;
    }
    expect(histories).toBeGreaterThanOrEqual(6); // repository, deployer, 2 trainings, 2 deployments
  });
}

/** Every string and every decoded byte field (payload data) of a history, joined. */
function textOf(value: unknown, out: string[] = []): string {
  if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const child of Object.values(value)) textOf(child, out);
  return out.join('\n');
}
