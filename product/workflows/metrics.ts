// Domain metrics emitted by the workflows (names in common/metrics.ts). The workflow metricMeter drops
// what is emitted while replaying, so a count happens once per real event whatever the replays; the
// worker adds namespace, task_queue and workflow_type labels.
import { metricMeter } from '@temporalio/workflow';
import { Metric, label } from '../common/metrics';

export function countTrainingStarted(pipeline: string): void {
  metricMeter.createCounter(Metric.trainingsStarted, '', 'Trainings started').add(1, { pipeline });
}

export function countTrainingEnded(pipeline: string, outcome: string, seconds: number): void {
  const tags = { pipeline, outcome: label(outcome) };
  metricMeter.createCounter(Metric.trainingsEnded, '', 'Trainings ended, by outcome').add(1, tags);
  metricMeter.createHistogram(Metric.trainingDuration, 'float', 's', 'Seconds from a training start to its end').record(seconds, tags);
}

export function recordExperimentWait(pipeline: string, state: string, seconds: number): void {
  metricMeter
    .createHistogram(Metric.experimentWait, 'float', 's', 'Seconds from an experiment submission to its terminal state')
    .record(seconds, { pipeline, state });
}

export function countDeployment(pipeline: string, deployment: string, outcome: string): void {
  metricMeter.createCounter(Metric.deployments, '', 'Rollouts ended, by outcome').add(1, { pipeline, deployment, outcome: label(outcome) });
}

export function countRollback(pipeline: string, deployment: string): void {
  metricMeter.createCounter(Metric.rollbacks, '', 'Rollouts rolled back').add(1, { pipeline, deployment });
}

export function countCommit(pipeline: string, answer: string): void {
  metricMeter.createCounter(Metric.commits, '', 'Commits sent to a repository workflow, by answer').add(1, { pipeline, answer: label(answer) });
}
