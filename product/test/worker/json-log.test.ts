// The one log schema of the worker, the watcher and the CLI (worker/json-log.ts).
import { logRecord } from '../../worker/json-log';

const time = new Date('2026-01-02T03:04:05.678Z');

test("the SDK's activity fields become the schema's: workflowId, runId, pipeline, activity first, the rest after", () => {
  const meta = {
    sdkComponent: 'activity',
    taskToken: 'AAAA',
    workflowId: 'ct-train-shapes@c1',
    workflowRunId: 'run-1',
    activityType: 'submitExperiment',
    attempt: 1,
    pipeline: 'shapes',
    experimentId: 7,
  };
  const record = logRecord('INFO', 'experiment 7 created from scratch', meta, time);
  expect(record).toEqual({
    time: '2026-01-02T03:04:05.678Z',
    level: 'info',
    message: 'experiment 7 created from scratch',
    workflowId: 'ct-train-shapes@c1',
    runId: 'run-1',
    pipeline: 'shapes',
    activity: 'submitExperiment',
    sdkComponent: 'activity',
    attempt: 1,
    experimentId: 7,
  });
  expect(Object.keys(record).slice(0, 7)).toEqual(['time', 'level', 'message', 'workflowId', 'runId', 'pipeline', 'activity']);
});

test('a workflow log keeps its runId; levels are lower case (warning is warn); fields cannot override time, level or message', () => {
  expect(logRecord('WARN', 'rolling back', { workflowId: 'w', runId: 'r', level: 'debug', message: 'x', time: 'y' }, time)).toEqual({
    time: time.toISOString(),
    level: 'warn',
    message: 'rolling back',
    workflowId: 'w',
    runId: 'r',
  });
  expect(logRecord('warning', 'm', {}, time).level).toBe('warn');
  expect(logRecord('ERROR', 'm', {}, time).level).toBe('error');
});

test('a record without run fields has only the three, and bigints are written as strings', () => {
  expect(logRecord('info', 'worker started', { big: 10n }, time)).toEqual({ time: time.toISOString(), level: 'info', message: 'worker started', big: '10' });
});
