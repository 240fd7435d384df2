// Traces (worker/tracing.ts) with an in-memory exporter: a commit sent to a repository workflow gives
// one trace holding the repository run, the training it starts, and every activity of that training,
// each activity execution under its scheduling in its workflow.
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Worker } from '@temporalio/worker';
import { createLocalEnv } from '../helpers/temporal';
import { createFakeActivities, createFakeWorld } from '../helpers/fake-activities';
import { testPipeline } from '../helpers/pipeline';
import { createTracing, tracingFromEnv } from '../../worker/tracing';
import { triggerCommit } from '../../client/signals';
import { repositoryStatusQuery } from '../../workflows';
import { trainingWorkflowId } from '../../common/ids';

jest.setTimeout(120_000);

test('off without an OTLP endpoint, exporting with one', () => {
  expect(tracingFromEnv({}).exporting).toBe(false);
  expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).exporting).toBe(true);
  expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }).exporting).toBe(true);
});

test('a training started by its repository workflow is one trace with its activities', async () => {
  const env = await createLocalEnv();
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing(new SimpleSpanProcessor(exporter), true);
  try {
    const taskQueue = 'tracing';
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createFakeActivities(createFakeWorld()),
      ...tracing.workerOptions(false),
    });
    const pipeline = testPipeline();
    await worker.runUntil(async () => {
      const repo = env.client.workflow.getHandle((await triggerCommit(env.client, taskQueue, pipeline, 'c1')).workflowId);
      for (let i = 0; i < 300 && (await repo.query(repositoryStatusQuery)).processed < 1; i++) await new Promise((r) => setTimeout(r, 100));
      expect((await repo.query(repositoryStatusQuery)).recent[0].outcome).toBe('completed');
      await repo.terminate('test done');
    });
    const spans = exporter.getFinishedSpans();
    const training = trainingWorkflowId(pipeline.modelName, 'c1');
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const runTraining = byName('RunWorkflow:trainingWorkflow');
    expect(runTraining).toHaveLength(1);
    expect(runTraining[0].attributes).toMatchObject({ workflowId: training });
    const traceId = runTraining[0].spanContext().traceId;
    // The training's span continues the repository workflow's trace through the child's start.
    const startChild = byName('StartChildWorkflow:trainingWorkflow');
    expect(startChild).toHaveLength(1);
    expect(startChild[0].spanContext().traceId).toBe(traceId);
    expect(parentOf(runTraining[0])).toBe(startChild[0].spanContext().spanId);
    // Every activity of the training: scheduled from the workflow's trace, run under that span.
    for (const activity of ['diffCommit', 'fetchExperiment', 'submitExperiment', 'waitForExperiment', 'registerModelVersion', 'publishModel']) {
      const run = byName(`RunActivity:${activity}`);
      expect([activity, run.length > 0]).toEqual([activity, true]);
      const scheduled = new Map(byName(`StartActivity:${activity}`).map((s) => [s.spanContext().spanId, s]));
      for (const r of run) {
        expect([activity, r.spanContext().traceId]).toEqual([activity, traceId]);
        expect([activity, scheduled.has(parentOf(r) ?? '')]).toEqual([activity, true]);
      }
    }
    // One trace: no span of the run elsewhere (the test's own status queries are not part of it).
    expect(new Set(spans.filter((s) => !s.name.startsWith('HandleQuery:')).map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    expect(byName('HandleUpdate:triggerCommit').map((s) => s.spanContext().traceId)).toEqual([traceId]);
  } finally {
    await tracing.shutdown();
    await env.teardown();
  }
});

function parentOf(span: ReadableSpan): string | undefined {
  const s = span as ReadableSpan & { parentSpanId?: string; parentSpanContext?: { spanId: string } };
  return s.parentSpanId ?? s.parentSpanContext?.spanId;
}
