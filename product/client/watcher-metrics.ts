// The watcher's own metrics, on a Temporal Runtime metric meter (the worker's kind of Prometheus
// endpoint, at the watcher's CT_METRICS_ADDRESS): commits seen on each followed branch, requests sent
// to the workflows by answer, stream reconnects, and the lag from a commit's end to its workflow's answer.
import type { MetricMeter } from '@temporalio/common';

export const WatcherMetric = {
  commitsSeen: 'ct_watcher_commits_seen',
  sent: 'ct_watcher_requests_sent',
  reconnects: 'ct_watcher_reconnects',
  lag: 'ct_watcher_lag_seconds',
} as const;

export interface WatcherMetrics {
  /** A new commit (past the cursor) on a followed branch. */
  commitSeen(stream: string): void;
  /** A commit forwarded to its workflow (an Update, with start), by the answer's status. */
  sent(stream: string, answer: string): void;
  /** A stream opened again after it failed. */
  reconnect(stream: string): void;
  /** Seconds from the commit's end in Pachyderm to its workflow's answer (the gauge holds the latest). */
  lag(stream: string, seconds: number): void;
}

export function watcherMetrics(meter: MetricMeter): WatcherMetrics {
  const seen = meter.createCounter(WatcherMetric.commitsSeen, '', 'New commits seen on the followed branches');
  const sent = meter.createCounter(WatcherMetric.sent, '', 'Commits sent to their workflow, by answer');
  const reconnects = meter.createCounter(WatcherMetric.reconnects, '', 'Streams reopened after a failure');
  const lag = meter.createGauge(WatcherMetric.lag, 'float', 's', "Seconds from a commit's end to its workflow's answer (latest)");
  return {
    commitSeen: (stream) => seen.add(1, { stream }),
    sent: (stream, answer) => sent.add(1, { stream, answer: answer.replace(/-/g, '_') }),
    reconnect: (stream) => reconnects.add(1, { stream }),
    lag: (stream, seconds) => lag.set(Math.max(0, seconds), { stream }),
  };
}
