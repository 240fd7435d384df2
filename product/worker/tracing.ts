// Traces of the runs with OpenTelemetry (@temporalio/interceptors-opentelemetry): a span for each
// workflow run, each activity scheduled and each activity execution, linked through the Temporal
// headers, so a training and its activities (and the trainings a repository workflow starts) form one
// trace. Exported by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set; off
// otherwise, and then nothing is installed.
//
// The workflow interceptors run Update handlers a few microtasks later (a span around each); the
// repository workflow waits for its handlers before it starts a training, so its commands are the same
// with and without them, and tracing can be switched while workflows run (test/replay/replay.test.ts
// replays every history with them). A prebuilt bundle (CT_WORKFLOW_BUNDLE, scripts/bundle-workflows.ts)
// holds the workflow interceptors already; its workflows' spans go to the worker's `exporter` sink, which
// drops them when tracing is off.
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { tracesConfigured } from '../common/tracing-env';

/** The workflow side of the interceptors: bundled with the workflows. */
export const WORKFLOW_TRACING_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

export interface Tracing {
  /** Whether spans leave the process (an OTLP endpoint is configured). */
  exporting: boolean;
  tracer: Tracer;
  /**
   * What the worker needs: the activity interceptors and the sink the workflow interceptors export through;
   * the workflow interceptors themselves unless the worker loads a prebuilt bundle (which has them).
   */
  workerOptions(prebuiltBundle: boolean): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Flushes the spans still buffered. */
  shutdown(): Promise<void>;
}

export function createTracing(spanProcessor: SpanProcessor, exporting: boolean, serviceName = 'continuous-training-worker'): Tracing {
  const resource = new Resource({ 'service.name': process.env.OTEL_SERVICE_NAME || serviceName });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  const tracer = provider.getTracer('continuous-training');
  // Activities read the trace context from the Temporal headers with the global propagator, and run
  // in it through the global context manager.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return {
    exporting,
    tracer,
    workerOptions: (prebuiltBundle) => ({
      interceptors: {
        activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
        // A prebuilt bundle has them built in (and the SDK would warn that it ignores these).
        ...(prebuiltBundle ? {} : { workflowModules: [WORKFLOW_TRACING_MODULE] }),
      },
      sinks: { exporter: makeWorkflowExporter(spanProcessor, resource) },
    }),
    shutdown: () => provider.shutdown(),
  };
}

/** From the standard OpenTelemetry variables: OTLP/HTTP export when an endpoint is set, else off. */
export function tracingFromEnv(env: NodeJS.ProcessEnv = process.env, serviceName?: string): Tracing {
  // The exporter reads the endpoint, headers and timeout from the same variables.
  if (tracesConfigured(env)) return createTracing(new BatchSpanProcessor(new OTLPTraceExporter()), true, serviceName);
  return {
    exporting: false,
    tracer: trace.getTracer('continuous-training'),
    // The workflow interceptors of a prebuilt bundle still record spans: they are dropped here.
    workerOptions: (prebuiltBundle) => (prebuiltBundle ? { sinks: DROP_WORKFLOW_SPANS } : {}),
    shutdown: async () => undefined,
  };
}

const DROP_WORKFLOW_SPANS: InjectedSinks<OpenTelemetrySinks> = { exporter: { export: { fn: () => undefined } } };

/**
 * For a Temporal client (ct, the watcher): a span around each call, passed on in its headers, so the
 * commit a client sends starts the trace its training and rollout continue (workflows/trace-context.ts).
 */
export function clientInterceptor(tracing: Tracing): WorkflowClientInterceptor {
  return new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer });
}
