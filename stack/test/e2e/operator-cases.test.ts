// Issue 19: what real histories and an operator's hands do to the product, end to end: the real
// workflows and activities on an in-process worker, the watcher, the `ct` CLI as a separate process, and
// the emulators (simulated runs: this file is about orchestration and data, not models). Each test
// reproduces one case of the issue and failed before its fix.
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { createWorker } from 'continuous-training/worker/create-worker';
import { triggerCommit } from 'continuous-training/client/signals';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { runWatcher } from 'continuous-training/client/watcher';
import { deploymentWorkflowId, repositoryWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import { ErrorType } from 'continuous-training/common/errors';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import type { TrainingResult } from 'continuous-training/workflows/training';
import { repositoryWorkflow, pauseSignal, resumeSignal, repositoryStatusQuery } from 'continuous-training/workflows';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { EffectsReader } from '../reliability/helpers/effects';
import { ctCommand, pipelinesFile } from '../reliability/helpers/ct-cli';
import { commitData, startTestbed, uniquePipeline, waitForPipeline, type Testbed } from '../reliability/helpers/testbed';
import { testWorkflowBundlePath } from 'continuous-training/test/helpers/workflow-bundle';

const QUEUE = 'operator-cases';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tb: Testbed;
let worker: Worker;
let workerDone: Promise<void>;

beforeAll(async () => {
  tb = await startTestbed({ determinedDelays: { queuedMs: 50, pullingMs: 50, startingMs: 50, runningMs: 300 }, seldonAvailableDelayMs: 200 });
  worker = await createWorker({ connection: tb.env.nativeConnection, namespace: 'default', taskQueue: QUEUE, connections: tb.stack.connections , workflowBundlePath: testWorkflowBundlePath() });
  workerDone = worker.run();
}, 180_000);

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone?.catch(() => undefined);
  await tb?.close();
}, 120_000);

const pachdTarget = () => ({ url: tb.stack.pachd.url, authToken: tb.stack.connections.pachyderm.token });
const put = (p: PipelineSpec, files: Record<string, string>, branch = p.input.branch) => putFiles(pachdTarget(), p.input.repo, branch, files);

const ct = (args: string[]) => ctCommand(tb, QUEUE)(args);
const configFile = (pipelines: PipelineSpec[]) => pipelinesFile(tb, pipelines);

async function experimentConfig(experimentId: number): Promise<Record<string, unknown>> {
  const { url, user, password } = tb.stack.connections.determined;
  const login = (await (await fetch(`${url}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ username: user, password }) })).json()) as { token: string };
  const res = await fetch(`${url}/api/v1/experiments/${experimentId}`, { headers: { authorization: `Bearer ${login.token}` } });
  return ((await res.json()) as { config: Record<string, unknown> }).config;
}

async function determined(method: string, route: string): Promise<Response> {
  const { url, user, password } = tb.stack.connections.determined;
  const login = (await (await fetch(`${url}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ username: user, password }) })).json()) as { token: string };
  return fetch(`${url}${route}`, { method, headers: { authorization: `Bearer ${login.token}` } });
}

/** The result of the training of `commit` (once it exists and ends). */
async function trainingOf(p: PipelineSpec, commit: string, timeoutMs = 120_000): Promise<TrainingResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await tb.client.workflow.getHandle(trainingWorkflowId(p.modelName, commit)).result()) as TrainingResult;
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError' || Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

/** The innermost ApplicationFailure of a failed workflow. */
async function failureOf(workflowId: string): Promise<ApplicationFailure> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const result: unknown = await tb.client.workflow.getHandle(workflowId).result();
      throw new Error(`${workflowId} did not fail: ${JSON.stringify(result)}`);
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError' && Date.now() < deadline) {
        await sleep(200);
        continue;
      }
      let app: ApplicationFailure | undefined;
      for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof ApplicationFailure) app = e;
      if (!app) throw err;
      return app;
    }
  }
}

test('1. a first training sees every file of every coalesced commit (the whole tree), not only the newest commit', async () => {
  const p = uniquePipeline(tb.stack, 'first-coalesced');
  // The operator pauses the pipeline; two commits arrive; the first training covers both.
  await tb.client.workflow.signalWithStart(repositoryWorkflow, {
    taskQueue: QUEUE,
    workflowId: repositoryWorkflowId(p.input),
    args: [{ pipeline: p }],
    signal: pauseSignal,
    signalArgs: [],
  });
  const f1 = await put(p, { '/f1/a.txt': 'a', '/f1/b.txt': 'b', '/f1/c.txt': 'c' });
  const f2 = await put(p, { '/f2/d.txt': 'd' });
  await triggerCommit(tb.client, QUEUE, p, f1);
  await triggerCommit(tb.client, QUEUE, p, f2);
  await tb.client.workflow.getHandle(repositoryWorkflowId(p.input)).signal(resumeSignal);

  const training = await trainingOf(p, f2);
  expect(training).toMatchObject({ status: 'trained', baseCommit: null, diff: { added: { files: 4 }, modified: { files: 0 } } });
  if (training.status !== 'trained') return;
  const status = await tb.client.workflow.getHandle(repositoryWorkflowId(p.input)).query(repositoryStatusQuery);
  expect(status.recent).toEqual([expect.objectContaining({ commit: f2, covered: 2, outcome: 'completed' })]);
  // The experiment is told to read the whole tree, not the diff against f2's parent (f1).
  const data = (await experimentConfig(training.experimentId)).data as { pachyderm: Record<string, unknown> };
  expect(data.pachyderm).toMatchObject({ commit: f2, base_commit: null, all_files: true });
}, 120_000);

test('3. after the model is deleted from the registry, the new version 1 is published as a new output commit and deployed', async () => {
  const p = uniquePipeline(tb.stack, 'registry-reset');
  tb.watch([p], QUEUE);
  const c1 = await commitData(tb.stack, p, 1);
  const first = await waitForPipeline(tb.client, p, c1);
  expect(first.deployment?.status).toBe('deployed');
  if (first.training.status !== 'trained') throw new Error('not trained');

  expect((await determined('DELETE', `/api/v1/models/${encodeURIComponent(p.modelName)}`)).status).toBe(200);
  const c2 = await commitData(tb.stack, p, 2);
  const second = await waitForPipeline(tb.client, p, c2);
  expect(second.training).toMatchObject({ status: 'trained', modelVersion: { version: 1 } });
  if (second.training.status !== 'trained') return;
  expect(second.training.modelVersion.checkpointUuid).not.toBe(first.training.modelVersion.checkpointUuid);
  // Not the old version 1's commit: a commit of its own, deployed.
  expect(second.training.outputCommit).not.toBe(first.training.outputCommit);
  expect(second.deployment).toMatchObject({ status: 'deployed', modelInfo: { registryVersion: 1, checkpointUuid: second.training.modelVersion.checkpointUuid } });
  const e = await new EffectsReader(tb.stack.connections).read(p);
  expect(e.publishCommits.map((c) => c.id).sort()).toEqual([first.training.outputCommit, second.training.outputCommit].sort());
  expect(e.deployments).toEqual([expect.objectContaining({ registryVersion: '1', outputCommit: second.training.outputCommit, state: 'Available' })]);
}, 180_000);

test('4. a hand-edited model-info.yaml is refused (InvalidModelInfo) before Seldon is touched; ct deploy of another repo\'s commit is refused', async () => {
  const p = uniquePipeline(tb.stack, 'hand-edit');
  tb.watch([p], QUEUE);
  const c1 = await commitData(tb.stack, p, 1);
  const first = await waitForPipeline(tb.client, p, c1);
  if (first.training.status !== 'trained' || first.deployment?.status !== 'deployed') throw new Error('version 1 not deployed');
  const before = await new EffectsReader(tb.stack.connections).read(p);

  const info = first.deployment.modelInfo;
  const edited = await putFiles(pachdTarget(), p.output.repo, p.output.branch, {
    '/model-info.yaml': yaml.dump({ ...info, registryVersion: 999, checkpointUuid: '00000000-0000-0000-0000-000000000000' }),
  });
  const failure = await failureOf(deploymentWorkflowId(p.deployment.namespace, p.deployment.name, edited));
  expect(failure).toMatchObject({ type: ErrorType.InvalidModelInfo, nonRetryable: true });
  expect(failure.message).toContain(`model ${p.modelName} has no version 999`);
  const swapped = await putFiles(pachdTarget(), p.output.repo, p.output.branch, {
    '/model-info.yaml': yaml.dump({ ...info, checkpointUuid: '00000000-0000-0000-0000-000000000000' }),
  });
  const failure2 = await failureOf(deploymentWorkflowId(p.deployment.namespace, p.deployment.name, swapped));
  expect(failure2.message).toContain(`is checkpoint ${info.checkpointUuid}, not 00000000-0000-0000-0000-000000000000`);
  const after = await new EffectsReader(tb.stack.connections).read(p);
  expect(after.deployments).toEqual(before.deployments); // nothing changed in Seldon

  // `ct deploy` of a commit of the input repository (not the output repository) is refused at the CLI.
  const config = configFile([p]);
  const refused = await ct(['deploy', '--config', config, '--pipeline', p.name, '--output-commit', c1]);
  expect(refused.code).toBe(3);
  expect(refused.stderr).toBe(`error: commit ${c1} is not a commit of the output repository default/${p.output.repo}: refused`);
}, 180_000);

test('8. img-a@master and img@a-master are two pipelines with workflows of their own', async () => {
  const base = uniquePipeline(tb.stack, 'ids');
  const a: PipelineSpec = { ...base, name: `${base.name}-1`, input: { ...base.input, repo: `${base.input.repo}-a`, branch: 'master' }, modelName: `${base.modelName}-1`, output: { ...base.output, repo: `${base.name}-1-model` }, deployment: { ...base.deployment, name: `${base.deployment.name}-1` } };
  const b: PipelineSpec = { ...base, name: `${base.name}-2`, input: { ...base.input, repo: base.input.repo, branch: 'a-master' }, modelName: `${base.modelName}-2`, output: { ...base.output, repo: `${base.name}-2-model` }, deployment: { ...base.deployment, name: `${base.deployment.name}-2` } };
  expect(repositoryWorkflowId(a.input)).not.toBe(repositoryWorkflowId(b.input));
  const ca = await put(a, { '/a/x.txt': 'a' });
  const cb = await put(b, { '/b/x.txt': 'b' });
  await triggerCommit(tb.client, QUEUE, a, ca);
  await triggerCommit(tb.client, QUEUE, b, cb);
  const [ra, rb] = await Promise.all([trainingOf(a, ca), trainingOf(b, cb)]);
  expect(ra).toMatchObject({ status: 'trained', modelVersion: { modelName: a.modelName } });
  expect(rb).toMatchObject({ status: 'trained', modelVersion: { modelName: b.modelName } });
  for (const [p, c] of [[a, ca], [b, cb]] as const) {
    const status = await tb.client.workflow.getHandle(repositoryWorkflowId(p.input)).query(repositoryStatusQuery);
    expect(status.accepted).toEqual([c]);
  }
}, 180_000);

test('2. ct trigger refuses a commit of another branch; a watcher whose cursor is such a commit says so and resumes from the branch', async () => {
  const p = uniquePipeline(tb.stack, 'other-branch');
  const m1 = await put(p, { '/m1/a.txt': 'm1' });
  await triggerCommit(tb.client, QUEUE, p, m1);
  expect((await trainingOf(p, m1)).status).toBe('trained');
  const d1 = await put(p, { '/d1/a.txt': 'dev' }, 'dev');

  const config = configFile([p]);
  const refused = await ct(['trigger', '--config', config, '--pipeline', p.name, '--commit', d1]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toBe(`error: commit ${d1} of default/${p.input.repo} is not on branch master (the pipeline follows default/${p.input.repo}@master): refused`);
  const unknown = await ct(['trigger', '--config', config, '--pipeline', p.name, '--commit', 'f'.repeat(32)]);
  expect(unknown.code).toBe(3);
  const accepted = await ct(['trigger', '--config', config, '--pipeline', p.name, '--commit', m1]);
  expect(accepted.code).toBe(0);

  // What an older `ct trigger` let through: the repository workflow accepted the dev commit last.
  await triggerCommit(tb.client, QUEUE, p, d1);
  await trainingOf(p, d1);
  const log: string[] = [];
  const abort = new AbortController();
  const watching = runWatcher({
    client: tb.client,
    taskQueue: QUEUE,
    pipelines: [p],
    pachd: new PachydermClient(tb.stack.connections),
    signal: abort.signal,
    retryDelayMs: 200,
    log: (event, fields) => log.push(`${event} ${JSON.stringify(fields)}`),
  });
  try {
    const m2 = await put(p, { '/m2/a.txt': 'm2' });
    expect(await trainingOf(p, m2, 60_000)).toMatchObject({ status: 'trained', commit: m2 });
    const warning = log.find((l) => l.startsWith('watch.cursor-not-on-branch'));
    expect(warning).toContain(`"lastAccepted":"${d1}"`);
    expect(warning).toContain(`"resumeAfter":"${m1}"`);
    // m1 was not forwarded again: the watcher resumed after it.
    expect(log.filter((l) => l.startsWith('watch.answer') && l.includes(`"what":"training"`)).map((l) => /"commit":"(\w+)"/.exec(l)?.[1])).toEqual([m2]);
  } finally {
    abort.abort();
    await watching;
  }
}, 180_000);

test('7. an experiment that never reports its searcher metric registers nothing (MissingSearcherMetric naming it); version 1 keeps serving', async () => {
  const p = uniquePipeline(tb.stack, 'no-metric');
  p.deployment = { ...p.deployment, promotionGate: true };
  tb.watch([p], QUEUE);
  const c1 = await commitData(tb.stack, p, 1);
  const first = await waitForPipeline(tb.client, p, c1);
  expect(first.deployment?.status).toBe('deployed');

  const setOutcomes = async (rules: unknown[]) => {
    const res = await fetch(`${tb.stack.determined.url}/__emulator/outcomes`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
    expect(res.status).toBe(200);
  };
  await setOutcomes([{ label: `^${p.name}$`, outcome: 'NO_SEARCHER_METRIC' }]);
  try {
    const c2 = await commitData(tb.stack, p, 2);
    const failure = await failureOf(trainingWorkflowId(p.modelName, c2));
    expect(failure).toMatchObject({ type: ErrorType.MissingSearcherMetric, nonRetryable: true });
    expect(failure.message).toMatch(/^experiment \d+ never reported its searcher metric "accuracy" \(validation metrics reported: validation_loss\): nothing registered$/);
  } finally {
    await setOutcomes([]);
  }
  const e = await new EffectsReader(tb.stack.connections).read(p);
  expect(e.modelVersions.map((v) => v.version)).toEqual([1]);
  expect(e.publishCommits).toHaveLength(1);
  expect(e.deployments).toEqual([expect.objectContaining({ registryVersion: '1', state: 'Available' })]);
}, 180_000);

test('6. ct put of a path pachd refuses: one line and exit code 1, no open commit left; the next put to the branch works', async () => {
  const repo = 'put-newline';
  await putFiles(pachdTarget(), repo, 'master', { '/first.txt': 'first' });
  const dir = fs.mkdtempSync(path.join(tb.stateDir, 'put-'));
  const bad = path.join(dir, 'bad\nname.txt');
  fs.writeFileSync(bad, 'x');
  const failed = await ct(['put', '--repo', repo, bad]);
  expect(failed.code).toBe(1);
  expect(failed.stderr.split('\n')).toHaveLength(1);
  expect(failed.stderr).toMatch(/^error: /);
  expect(failed.stderr).not.toMatch(/TypeError/);
  const good = path.join(dir, 'good.txt');
  fs.writeFileSync(good, 'good');
  const next = await ct(['put', '--repo', repo, '--json', good]);
  expect(next).toMatchObject({ code: 0 });
  const { commit } = JSON.parse(next.stdout) as { commit: string };
  const info = await new PachydermClient(tb.stack.connections).inspectCommit({ repo: { name: repo, type: 'user', project: { name: 'default' } }, id: commit });
  expect(info.finished).toBeTruthy();
  expect(info.error ?? '').toBe('');
}, 60_000);

test('10. a missing output repository is logged once, then its appearance (not one error a second)', async () => {
  const p = uniquePipeline(tb.stack, 'quiet-watcher');
  const log: string[] = [];
  const abort = new AbortController();
  const watching = runWatcher({
    client: tb.client,
    taskQueue: 'nobody-listens',
    pipelines: [p],
    pachd: new PachydermClient(tb.stack.connections),
    signal: abort.signal,
    retryDelayMs: 100,
    log: (event, fields) => log.push(`${event} ${JSON.stringify(fields)}`),
  });
  try {
    await sleep(3000); // 30 retries' worth
    const output = log.filter((l) => l.includes(`"repo":"default/${p.output.repo}@master"`));
    expect(output.map((l) => l.split(' ')[0])).toEqual(['watch.subscribe', 'watch.repo-missing']);
    expect(log.filter((l) => l.startsWith('watch.error'))).toEqual([]);
    await putFiles(pachdTarget(), p.output.repo, p.output.branch, { '/x.txt': 'x' });
    const deadline = Date.now() + 10_000;
    while (!log.some((l) => l.startsWith('watch.repo-appeared')) && Date.now() < deadline) await sleep(100);
    expect(log.filter((l) => l.includes(`default/${p.output.repo}@master`)).map((l) => l.split(' ')[0]).slice(0, 4)).toEqual([
      'watch.subscribe',
      'watch.repo-missing',
      'watch.repo-appeared',
      'watch.subscribe',
    ]);
  } finally {
    abort.abort();
    await watching;
  }
}, 60_000);
