// The committed histories cover every path of the long-lived workflows' lives, so that replay.test.ts
// catches a non-deterministic change to any of them: read from the events themselves, not file names.
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;
const dir = path.join(__dirname, '..', 'histories');
const histories = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((file) => {
    const { workflowId: _id, ...json } = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { workflowId: string };
    const events = historyFromJSON(json).events ?? [];
    return { file, type: events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?', events };
  });

const decode = (p: temporal.api.common.v1.IPayload | null | undefined): unknown => (p?.data ? JSON.parse(Buffer.from(p.data).toString('utf8')) : undefined);
const signals = (events: Event[]) => events.map((e) => e.workflowExecutionSignaledEventAttributes?.signalName).filter(Boolean);
const updates = (events: Event[]) => events.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name).filter(Boolean);
const answers = (events: Event[]) =>
  events.map((e) => decode(e.workflowExecutionUpdateCompletedEventAttributes?.outcome?.success?.payloads?.[0])).filter(Boolean) as { status?: string }[];
const children = (events: Event[]) => events.map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).filter(Boolean);

/** Files of this workflow type whose events satisfy `has`. */
function withPath(type: string, has: (events: Event[]) => boolean): string[] {
  return histories.filter((h) => h.type === type && has(h.events)).map((h) => h.file);
}

const PATHS: [string, string, (events: Event[]) => boolean][] = [
  ['repositoryWorkflow', 'two or more trainings', (ev) => children(ev).length >= 2],
  ['repositoryWorkflow', 'commits coalesced into one training', (ev) => children(ev).some((c) => ((decode(c?.input?.payloads?.[0]) as { coveredCommits?: number }).coveredCommits ?? 1) > 1)],
  ['repositoryWorkflow', 'a failed training', (ev) => ev.some((e) => e.childWorkflowExecutionFailedEventAttributes)],
  ['repositoryWorkflow', 'pause and resume', (ev) => signals(ev).includes('pause') && signals(ev).includes('resume')],
  ['repositoryWorkflow', 'a commit by signal (older callers)', (ev) => signals(ev).includes('newCommit')],
  ['repositoryWorkflow', 'continue-as-new', (ev) => ev.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)],
  ['repositoryWorkflow', 'a training cancelled, and a training after it', (ev) => {
    const i = ev.findIndex((e) => e.childWorkflowExecutionCanceledEventAttributes);
    return i >= 0 && ev.slice(i).some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  }],
  ['repositoryWorkflow', 'the workflow itself cancelled', (ev) => ev.some((e) => e.workflowExecutionCanceledEventAttributes)],
  ['repositoryWorkflow', 'an Update answered rejected', (ev) => answers(ev).some((a) => a.status === 'rejected')],
  ['repositoryWorkflow', 'a configuration change', (ev) => updates(ev).includes('applyPipeline')],
  ['repositoryWorkflow', 'a training override (ct rebase), and a training with it', (ev) => {
    const i = ev.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'overrideTraining');
    return i >= 0 && children(ev.slice(i)).some((c) => (decode(c?.input?.payloads?.[0]) as { baseCommit?: string }).baseCommit);
  }],
  ['repositoryWorkflow', 'a retry with exclude patterns (ct retry --exclude)', (ev) =>
    ev.some((e) => {
      const u = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
      return u?.name === 'retryCommit' && ((decode(u.args?.payloads?.[0]) as { exclude?: string[] }).exclude?.length ?? 0) > 0;
    })],
  ['deployerWorkflow', 'a rollout cancelled, and one after it', (ev) => {
    const i = ev.findIndex((e) => e.childWorkflowExecutionCanceledEventAttributes);
    return i >= 0 && ev.slice(i).some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  }],
  ['deployerWorkflow', 'pause and resume', (ev) => signals(ev).includes('pause') && signals(ev).includes('resume')],
  ['deployerWorkflow', 'a configuration change', (ev) => updates(ev).includes('applyDeployment')],
  ['trainingWorkflow', 'a training cancelled (its experiment stopped)', (ev) => ev.some((e) => e.workflowExecutionCanceledEventAttributes)],
  ['trainingWorkflow', 'a training past its deadline', (ev) => ev.some((e) => e.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo?.type === 'TrainingTimedOut')],
  ['deploymentWorkflow', 'a rollout rolled back', (ev) => ev.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deployModel').length === 2],
];

test.each(PATHS)('%s: %s is in a committed history', (type, _path, has) => {
  expect(withPath(type, has)).not.toEqual([]);
});
