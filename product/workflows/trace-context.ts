// One trace per pipeline run. The repository and deployer workflows live for months, so their own trace
// (the tracing interceptors' span around a run) would hold every training and rollout they ever started.
// Instead each commit keeps the trace context it arrived with (the span of the Update or signal that
// brought it, under the watcher's or ct's span when they are traced) and its training or rollout starts
// in that context: the commit's training, its activities and, through the output commit, its deployment
// form one trace. (The first commit, which starts the long-lived workflow, shares its trace with that
// workflow's run span: one span more in that trace, never another commit's run.)
//
// Deterministic: the context lives in the workflow's async-local storage (the interceptors' context
// manager), and nothing here issues a command. Without the tracing interceptors the API is a no-op:
// nothing is captured and children start as before.
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';

/** W3C `traceparent` (00-<trace id>-<span id>-<flags>): the only field kept, a few dozen bytes. */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The `traceparent` of the span running now (an Update or signal handler's), if tracing is on. */
export function currentTraceParent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return asTraceParent(carrier.traceparent);
}

/** The value when it is a well-formed `traceparent`, else undefined (a bad one is ignored, never fatal). */
export function asTraceParent(value: unknown): string | undefined {
  return typeof value === 'string' && TRACEPARENT.test(value) ? value : undefined;
}

/**
 * Runs `fn` (which starts a child workflow) under `traceParent`, so the child joins that trace; without
 * one, in a new trace of its own rather than the long-lived parent's.
 */
export function inTrace<T>(traceParent: string | undefined, fn: () => T): T {
  return context.with(traceParent ? propagation.extract(ROOT_CONTEXT, { traceparent: traceParent }) : ROOT_CONTEXT, fn);
}

/** Keeps the trace context of commits still waiting, and forgets those a run took. Bounded by the queue. */
export function keepTraceParents(traces: Record<string, string>, pending: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const commit of pending) if (traces[commit]) kept[commit] = traces[commit];
  return kept;
}
