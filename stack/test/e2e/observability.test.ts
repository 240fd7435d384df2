// What an operator scrapes: the worker and the watcher run as processes (as in a pod) with their
// Prometheus and health endpoints and OTLP traces, the watcher drives a pipeline through two trainings
// and a skipped commit, and the counts on the endpoints must match what happened (the workflows' own
// results); each pipeline run is one trace, from the watcher's request to the rollout.
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../processes';
import { spawn, type ChildProcess } from 'node:child_process';
import yaml from 'js-yaml';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { ctCommandLine } from 'continuous-training/test/helpers/product-build';
import { triggerCommit } from 'continuous-training/client/signals';
import { deploymentQueueWorkflowId, deploymentWorkflowId, repositoryWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import { Metric } from 'continuous-training/common/metrics';
import { WatcherMetric } from 'continuous-training/client/watcher-metrics';
import { repositoryStatusQuery } from 'continuous-training/workflows';
import type { TrainingResult } from 'continuous-training/workflows/training';
import { startTestbed, uniquePipeline, commitData, waitForPipeline, type Testbed } from '../reliability/helpers/testbed';
import { spawnWorker, workerEnv, type WorkerProcess } from '../reliability/helpers/worker-process';
import { startOtlpCollector, type CollectedSpan, type OtlpCollector } from '../helpers/otlp-collector';

jest.setTimeout(600_000);

let tb: Testbed;
let collector: OtlpCollector;
let worker: WorkerProcess;
let watcher: ChildProcess | undefined;
let watcherLog = '';
const ports = { workerMetrics: 0, workerHealth: 0, watcherMetrics: 0, watcherHealth: 0 };
const taskQueue = 'observability';

beforeAll(async () => {
  tb = await startTestbed();
  collector = await startOtlpCollector();
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  worker = await spawnWorker({
    temporalAddress: tb.env.address,
    taskQueue,
    connections: tb.stack.connections,
    env: { CT_METRICS_ADDRESS: `127.0.0.1:${ports.workerMetrics}`, CT_HEALTH_ADDRESS: `127.0.0.1:${ports.workerHealth}`, CT_LOG_LEVEL: 'INFO', ...tracingEnv() },
  });
});

afterAll(async () => {
  watcher?.kill('SIGTERM');
  await worker?.kill();
  await collector?.close();
  await tb?.close();
});

test('after a pipeline run, the metrics and health endpoints of the worker and the watcher tell what happened', async () => {
  const pipeline = uniquePipeline(tb.stack, 'observed');
  const config = path.join(tb.stateDir, 'observed.yaml');
  fs.writeFileSync(config, yaml.dump({ pipelines: [pipeline] }));
  const env = {
    ...workerEnv({ temporalAddress: tb.env.address, taskQueue, connections: tb.stack.connections }, tb.stateDir),
    CT_METRICS_ADDRESS: `127.0.0.1:${ports.watcherMetrics}`,
    CT_HEALTH_ADDRESS: `127.0.0.1:${ports.watcherHealth}`,
    ...tracingEnv(),
  };
  const first = await commitData(tb.stack, pipeline, 1);
  const [node, cli] = ctCommandLine();
  watcher = spawn(node, [cli, 'watch', '--config', config], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  watcher.stderr?.on('data', (d: Buffer) => (watcherLog += d.toString()));

  // The watcher is ready once it reaches Temporal and both branches are followed.
  await until(async () => (await get(ports.watcherHealth, '/readyz')).status === 200, 60_000, () => watcherLog);
  const one = await waitForPipeline(tb.client, pipeline, first);
  expect(one.training.status).toBe('trained');
  expect(one.deployment?.status).toBe('deployed');

  // A commit that only deletes a file: its training is skipped.
  const deletion = await putFiles({ url: tb.stack.pachd.url, authToken: tb.stack.connections.pachyderm.token }, pipeline.input.repo, pipeline.input.branch, {}, {
    deletes: ['/batch-1/img-0.txt'],
  });
  const skipped = (await waitForPipeline(tb.client, pipeline, deletion)).training;
  expect(skipped.status).toBe('skipped');

  const second = await commitData(tb.stack, pipeline, 2);
  const two = await waitForPipeline(tb.client, pipeline, second);
  expect(two.deployment?.status).toBe('deployed');

  // By hand: the first commit again (already trained) and a commit id the workflow refuses.
  expect((await triggerCommit(tb.client, taskQueue, pipeline, first)).answer.status).toBe('already-trained');
  expect((await triggerCommit(tb.client, taskQueue, pipeline, 'not/a-commit')).answer.status).toBe('rejected');
  const repo = await tb.client.workflow.getHandle(repositoryWorkflowId(pipeline.input)).query(repositoryStatusQuery);
  expect(repo.processed).toBe(3);

  // What happened, from the workflows themselves.
  const results = await Promise.all([first, deletion, second].map(async (c) => (await tb.client.workflow.getHandle(trainingWorkflowId(pipeline.modelName, c)).result()) as TrainingResult));
  const trained = results.filter((r) => r.status === 'trained').length;
  expect(trained).toBe(2);

  const p = { pipeline: pipeline.name };
  const deployment = `${pipeline.deployment.namespace}/${pipeline.deployment.name}`;
  // Workflow metrics are flushed with the workflow task completions; a scrape right after may precede the last.
  let m = await scrape(ports.workerMetrics);
  await until(async () => sum((m = await scrape(ports.workerMetrics)), Metric.deployments, p) === 2, 30_000, () => m.text);
  expect(sum(m, Metric.trainingsStarted, p)).toBe(3);
  expect(sum(m, Metric.trainingsEnded, { ...p, outcome: 'completed' })).toBe(trained);
  expect(sum(m, Metric.trainingsEnded, { ...p, outcome: 'skipped' })).toBe(1);
  expect(sum(m, Metric.trainingsEnded, { ...p, outcome: 'failed' })).toBe(0);
  expect(sum(m, Metric.trainingsEnded, { ...p, outcome: 'timed_out' })).toBe(0);
  expect(sum(m, `${Metric.trainingDuration}_count`, { ...p, outcome: 'completed' })).toBe(2);
  expect(sum(m, `${Metric.trainingDuration}_sum`, { ...p, outcome: 'completed' })).toBeGreaterThan(0);
  // Buckets for durations of seconds to hours (worker/main.ts).
  expect(m.samples.filter((x) => x.name === `${Metric.trainingDuration}_bucket` && x.labels.outcome === 'completed').map((x) => x.labels.le)).toContain('3600');
  expect(sum(m, `${Metric.experimentWait}_count`, { ...p, state: 'COMPLETED' })).toBe(2);
  expect(sum(m, Metric.deployments, { ...p, deployment, outcome: 'deployed' })).toBe(2);
  expect(sum(m, Metric.rollbacks, p)).toBe(0);
  // The first rollout created both detectors; the second found them identical and kept them.
  expect(sum(m, Metric.detectors, { deployment, action: 'created' })).toBe(2);
  expect(sum(m, Metric.detectors, { deployment, action: 'kept' })).toBe(2);
  expect(sum(m, Metric.commits, { ...p, answer: 'accepted' })).toBe(3);
  expect(sum(m, Metric.commits, { ...p, answer: 'already_trained' })).toBeGreaterThanOrEqual(1);
  expect(sum(m, Metric.commits, { ...p, answer: 'rejected' })).toBe(1);
  // The SDK's own metrics are on the same endpoint.
  expect(m.text).toMatch(/^temporal_workflow_completed\{/m);

  const w = await scrape(ports.watcherMetrics);
  const trainingStream = { stream: `training default/${pipeline.input.repo}@master` };
  const deploymentStream = { stream: `deployment default/${pipeline.output.repo}@master` };
  expect(sum(w, WatcherMetric.commitsSeen, trainingStream)).toBe(3);
  expect(sum(w, WatcherMetric.commitsSeen, deploymentStream)).toBe(2);
  expect(sum(w, WatcherMetric.sent, { ...trainingStream, answer: 'accepted' })).toBe(3);
  expect(sum(w, WatcherMetric.sent, { ...deploymentStream, answer: 'accepted' })).toBe(2);
  expect(sum(w, WatcherMetric.reconnects, {})).toBe(0);
  const lag = sum(w, WatcherMetric.lag, trainingStream);
  expect(lag).toBeGreaterThanOrEqual(0);
  expect(lag).toBeLessThan(120);
  expect(w.text).toContain(`${WatcherMetric.lag}{`);

  for (const port of [ports.workerHealth, ports.watcherHealth]) {
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(port, '/readyz')).toEqual({ status: 200, body: 'ready\n' });
  }

  // The logs: every line of the worker and of the watcher is one record of the same schema, and the
  // activities log their decisions with the run, the pipeline and the activity they belong to.
  const workerLogs = records(worker.output);
  const watcherLogs = records(watcherLog.split('\n'));
  const decision = (activity: string, message: RegExp) => workerLogs.filter((r) => r.activity === activity && message.test(r.message));
  const firstTraining = trainingWorkflowId(pipeline.modelName, first);
  expect(decision('submitExperiment', new RegExp(`^experiment ${one.training.status === 'trained' ? one.training.experimentId : -1} created from scratch$`))).toEqual([
    expect.objectContaining({ level: 'info', workflowId: firstTraining, runId: expect.any(String), pipeline: pipeline.name }),
  ]);
  expect(decision('submitExperiment', /created continuing from checkpoint/)).toHaveLength(1);
  expect(decision('registerModelVersion', /^checkpoint \S+ chosen \(.+\), registered as observed version 1$/)).toHaveLength(1);
  expect(decision('deployModel', new RegExp(`^${deployment} created with version 1 `))).toHaveLength(1);
  expect(decision('deployModel', new RegExp(`^${deployment} replaced: version 1 → 2 `))).toHaveLength(1);
  expect(decision('replaceDetector', / detector of .* created$/)).toHaveLength(2);
  expect(decision('replaceDetector', / detector of .* kept$/)).toHaveLength(2);
  expect(watcherLogs.filter((r) => r.event === 'watch.answer' && r.pipeline === pipeline.name)).toHaveLength(5);

  // One trace per pipeline run: the watcher's request for the commit, the training and its activities,
  // and the rollout of its output commit (carried by the commit's description through the watcher).
  const runs = [one, two].map((r) => {
    if (r.training.status !== 'trained') throw new Error('not trained');
    return { training: trainingWorkflowId(pipeline.modelName, r.training.commit), rollout: deploymentWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name, r.training.outputCommit) };
  });
  const runSpan = (type: string, workflowId: string) => collector.spans.find((s) => s.name === `RunWorkflow:${type}` && s.attributes.workflowId === workflowId);
  // The worker exports in batches (every 100 ms here); the last rollout's spans may still be on their way.
  await until(async () => runs.every((r) => runSpan('deploymentWorkflow', r.rollout)), 30_000, () => collector.spans.map((s) => s.name).join('\n'));
  const traceIds = runs.map((r) => {
    const traceId = runSpan('trainingWorkflow', r.training)!.traceId;
    const trace = collector.spans.filter((s) => s.traceId === traceId);
    expect(runSpan('deploymentWorkflow', r.rollout)!.traceId).toBe(traceId);
    const names = new Set(trace.map((s) => s.name));
    for (const name of ['HandleUpdate:triggerCommit', 'RunActivity:submitExperiment', 'RunActivity:waitForExperiment', 'RunActivity:publishModel', 'RunActivity:deployModel', 'RunActivity:waitForDeploymentReady']) {
      expect([r.training, name, names.has(name)]).toEqual([r.training, name, true]);
    }
    // It starts at the watcher: its root is the watcher's request, every other span has its parent in the trace.
    const roots = trace.filter((s) => !s.parentSpanId);
    expect(roots.map((s) => [s.service, s.name])).toEqual([['continuous-training-watcher', 'UpdateWithStartWorkflow:triggerCommit']]);
    const ids = new Set(trace.map((s) => s.spanId));
    expect(trace.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map(describeSpan)).toEqual([]);
    // This run's training and rollout, and their starts in the long-lived repository and deployer workflows: nothing else.
    const deployer = deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name);
    expect([...new Set(trace.map((s) => s.attributes.workflowId).filter(Boolean))].sort()).toEqual([repositoryWorkflowId(pipeline.input), r.training, deployer, r.rollout].sort());
    return traceId;
  });
  expect(new Set(traceIds).size).toBe(2);
});

function tracingEnv(): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
}

function describeSpan(s: CollectedSpan): string {
  return `${s.service} ${s.name} ${JSON.stringify(s.attributes)}`;
}

interface Record_ {
  time: string;
  level: string;
  message: string;
  [k: string]: unknown;
}

/** Parses log lines: each must be one JSON record with time, level and message. */
function records(lines: string[]): Record_[] {
  return lines
    .filter((l) => l.trim())
    .map((l) => {
      let r: Record_;
      try {
        r = JSON.parse(l) as Record_;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
      expect([l, typeof r.time, ['trace', 'debug', 'info', 'warn', 'error'].includes(r.level), typeof r.message]).toEqual([l, 'string', true, 'string']);
      return r;
    });
}

interface Scrape {
  text: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

async function scrape(port: number): Promise<Scrape> {
  const text = (await get(port, '/metrics')).body;
  const samples = text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
      if (!m) throw new Error(`not a Prometheus sample: ${line}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
      return { name: m[1], labels, value: Number(m[3]) };
    });
  return { text, samples };
}

/** The sum of a metric's samples whose labels include `labels` (0 when there is none). */
function sum(s: Scrape, name: string, labels: Record<string, string>): number {
  return s.samples
    .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    .reduce((a, x) => a + x.value, 0);
}

async function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; output so far:\n${context().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

