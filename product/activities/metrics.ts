// Domain metrics emitted by activities (names in common/metrics.ts), through the activity context's
// metric meter: the worker's Runtime, so they appear on its Prometheus endpoint with the SDK's own.
import { Context } from '@temporalio/activity';
import { Metric } from '../common/metrics';

export function countDetector(deployment: string, kind: string, action: string): void {
  Context.current().metricMeter.createCounter(Metric.detectors, '', 'Detectors made to match a rollout, by action').add(1, { deployment, kind, action });
}
