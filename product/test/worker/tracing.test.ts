// Traces (worker/tracing.ts, workflows/trace-context.ts) with an in-memory exporter: one trace per
// pipeline run. A commit sent to a repository workflow gives a trace holding the Update that queued it,
// the training it starts and every activity of that training (each execution under its scheduling); the
// rollout of its output commit joins that trace when the deploy request names it.
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Worker, type InjectedSinks } from '@temporalio/worker';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import { createLocalEnv } from '../helpers/temporal';
import { createFakeActivities, createFakeWorld } from '../helpers/fake-activities';
import { testPipeline } from '../helpers/pipeline';
import { clientInterceptor, createTracing, tracingFromEnv } from '../../worker/tracing';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import { requestDeploy, triggerCommit } from '../../client/signals';
import { deployerStatusQuery, repositoryStatusQuery, trainingWorkflow } from '../../workflows';
import { trainingWorkflowId } from '../../common/ids';
import { testWorkflowBundlePath } from '../helpers/workflow-bundle';

jest.setTimeout(120_000);

test('off without an OTLP endpoint, exporting with one', () => {
  expect(tracingFromEnv({}).exporting).toBe(false);
  expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).exporting).toBe(true);
  expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }).exporting).toBe(true);
});

test("a prebuilt bundle (CT_WORKFLOW_BUNDLE) traces its workflows; with tracing off their spans go to a sink that drops them", async () => {
  const env = await createLocalEnv();
  try {
    const drop = tracingFromEnv({}).workerOptions(true).sinks?.exporter as InjectedSinks<OpenTelemetrySinks>['exporter'] | undefined;
    expect(drop).toBeDefined();
    const exported: string[] = [];
    const taskQueue = 'tracing-bundle';
    const sinks: InjectedSinks<OpenTelemetrySinks> = {
      exporter: {
        export: {
          fn: async (info, spans) => {
            exported.push(...spans.map((s) => s.name));
            await drop!.export.fn(info, spans);
          },
        },
      },
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: testWorkflowBundlePath() },
      activities: createFakeActivities(createFakeWorld()),
      sinks,
    });
    await worker.runUntil(env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: 'tracing-bundle-c1', args: [{ pipeline: testPipeline(), commit: 'c1' }] }));
    expect(exported).toEqual(expect.arrayContaining(['RunWorkflow:trainingWorkflow', 'StartActivity:publishModel']));
  } finally {
    await env.teardown();
  }
});

test('each commit is a trace of its own: the request that queued it, its training and every activity of that training', async () => {
  await withTracedWorker('tracing', async ({ env, exporter, tracing, worker, taskQueue }) => {
    // As ct and the watcher are with an OTLP endpoint set (client/connect.ts).
    const tracedClient = new Client({ connection: env.client.connection, interceptors: { workflow: [clientInterceptor(tracing)] } });
    const pipeline = testPipeline();
    await worker.runUntil(async () => {
      // c1 from an untraced client, with the repository workflow's start.
      const repo = env.client.workflow.getHandle((await triggerCommit(env.client, taskQueue, pipeline, 'c1')).workflowId);
      await processed(repo, 1);
      await triggerCommit(tracedClient, taskQueue, pipeline, 'c2');
      await processed(repo, 2);
      await triggerCommit(env.client, taskQueue, pipeline, 'c3');
      await processed(repo, 3);
      expect((await repo.query(repositoryStatusQuery)).recent.map((r) => r.outcome)).toEqual(['completed', 'completed', 'completed']);
      await repo.terminate('test done');
    });
    const spans = exporter.getFinishedSpans().filter((s) => !s.name.startsWith('HandleQuery:') && !s.name.startsWith('QueryWorkflow'));
    const traceOf = (commit: string) => {
      const training = trainingWorkflowId(pipeline.modelName, commit);
      const runTraining = spans.filter((s) => s.name === 'RunWorkflow:trainingWorkflow' && s.attributes.workflowId === training);
      expect([commit, runTraining.length]).toEqual([commit, 1]);
      const trace = spans.filter((s) => s.spanContext().traceId === runTraining[0].spanContext().traceId);
      const startChild = trace.filter((s) => s.name === 'StartChildWorkflow:trainingWorkflow');
      expect([commit, startChild.length]).toEqual([commit, 1]);
      expect(parentOf(runTraining[0])).toBe(startChild[0].spanContext().spanId);
      // Every activity of the training: scheduled from the workflow's trace, run under that span.
      for (const activity of ['diffCommit', 'fetchExperiment', 'submitExperiment', 'waitForExperiment', 'registerModelVersion', 'publishModel']) {
        const scheduled = new Set(trace.filter((s) => s.name === `StartActivity:${activity}`).map((s) => s.spanContext().spanId));
        const run = trace.filter((s) => s.name === `RunActivity:${activity}`);
        expect([commit, activity, run.length > 0 && run.every((r) => scheduled.has(parentOf(r) ?? ''))]).toEqual([commit, activity, true]);
      }
      // One training per trace: nothing of another commit's run.
      expect(trace.filter((s) => s.name === 'RunWorkflow:trainingWorkflow')).toHaveLength(1);
      const byName = (name: string) => trace.filter((s) => s.name === name);
      return { trace, startChild: startChild[0], byName };
    };
    const updates = spans.filter((s) => s.name === 'HandleUpdate:triggerCommit').sort((a, b) => hrMs(a.startTime) - hrMs(b.startTime));
    expect(updates).toHaveLength(3);

    // c1 started the repository workflow: its Update, handled in the run's span, is the training's parent.
    const one = traceOf('c1');
    expect(parentOf(one.startChild)).toBe(updates[0].spanContext().spanId);
    // c2: the traced client's call is the root, then the Update, then the training.
    const two = traceOf('c2');
    const [call] = two.byName('UpdateWithStartWorkflow:triggerCommit');
    expect(parentOf(call)).toBeUndefined();
    expect(two.byName('HandleUpdate:triggerCommit').map(parentOf)).toEqual([call.spanContext().spanId]);
    expect(parentOf(two.startChild)).toBe(updates[1].spanContext().spanId);
    // c3: an untraced client's Update, handled later, is the root.
    const three = traceOf('c3');
    expect(parentOf(updates[2])).toBeUndefined();
    expect(parentOf(three.startChild)).toBe(updates[2].spanContext().spanId);
    expect(new Set([one, two, three].map((t) => t.startChild.spanContext().traceId)).size).toBe(3);
  });
});

test("a rollout joins the trace its request names (the training's, from the output commit), else the request's own", async () => {
  await withTracedWorker('tracing-deploy', async ({ env, exporter, worker, taskQueue }) => {
    const pipeline = testPipeline();
    const trainingTrace = '0af7651916cd43dd8448eb211c80319c';
    await worker.runUntil(async () => {
      // Two trainings publish out1 and out2 (the fake world's output commits).
      for (const commit of ['c1', 'c2']) await env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `train-${commit}`, args: [{ pipeline, commit }] });
      exporter.reset();
      const { workflowId } = await requestDeploy(env.client, taskQueue, pipeline, 'out1', 'cascade', `00-${trainingTrace}-b7ad6b7169203331-01`);
      const deployer = env.client.workflow.getHandle(workflowId);
      await processed(deployer, 1, deployerStatusQuery);
      // A malformed trace is ignored, never fatal: the rollout gets the request's own trace.
      await requestDeploy(env.client, taskQueue, pipeline, 'out2', 'manual', 'not-a-traceparent');
      await processed(deployer, 2, deployerStatusQuery);
      expect((await deployer.query(deployerStatusQuery)).recent.map((r) => r.outcome)).toEqual(['completed', 'completed']);
      await deployer.terminate('test done');
    });
    const spans = exporter.getFinishedSpans();
    const rollouts = spans.filter((s) => s.name === 'RunWorkflow:deploymentWorkflow');
    expect(rollouts).toHaveLength(2);
    const [first, second] = ['out1', 'out2'].map((c) => rollouts.find((s) => String(s.attributes.workflowId).endsWith(c))!);
    expect(first.spanContext().traceId).toBe(trainingTrace);
    const startFirst = spans.find((s) => s.spanContext().spanId === parentOf(first))!;
    expect(startFirst.name).toBe('StartChildWorkflow:deploymentWorkflow');
    expect(parentOf(startFirst)).toBe('b7ad6b7169203331');
    // Its activities are in the training's trace too.
    expect(spans.filter((s) => s.name === 'RunActivity:deployModel').map((s) => s.spanContext().traceId)).toContain(trainingTrace);
    const manualUpdate = spans.filter((s) => s.name === 'HandleUpdate:requestDeploy').map((s) => s.spanContext().traceId);
    expect(second.spanContext().traceId).not.toBe(trainingTrace);
    expect(manualUpdate).toContain(second.spanContext().traceId);
  });
});

interface TracedWorker {
  env: Awaited<ReturnType<typeof createLocalEnv>>;
  exporter: InMemorySpanExporter;
  tracing: ReturnType<typeof createTracing>;
  worker: Worker;
  taskQueue: string;
}

/** A worker on fake activities with the tracing interceptors, its spans kept in memory. */
async function withTracedWorker(taskQueue: string, fn: (t: TracedWorker) => Promise<void>): Promise<void> {
  const env = await createLocalEnv();
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing(new SimpleSpanProcessor(exporter), true);
  try {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createFakeActivities(createFakeWorld()),
      ...tracing.workerOptions(false),
    });
    await fn({ env, exporter, tracing, worker, taskQueue });
  } finally {
    await tracing.shutdown();
    await env.teardown();
  }
}

async function processed<T extends { processed: number }>(handle: WorkflowHandle, n: number, query: QueryDefinition<T> = repositoryStatusQuery as unknown as QueryDefinition<T>): Promise<void> {
  for (let i = 0; i < 300 && (await handle.query(query)).processed < n; i++) await new Promise((r) => setTimeout(r, 100));
  expect((await handle.query(query)).processed).toBe(n);
}

function hrMs([s, ns]: [number, number]): number {
  return s * 1000 + ns / 1e6;
}

function parentOf(span: ReadableSpan): string | undefined {
  const s = span as ReadableSpan & { parentSpanId?: string; parentSpanContext?: { spanId: string } };
  return s.parentSpanId ?? s.parentSpanContext?.spanId;
}
