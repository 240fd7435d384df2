// The state of a long-lived workflow that processes commits one at a time: what is pending, what was
// already accepted (dedupe), and a short log of recent runs. Plain data, so it can be carried across
// continue-as-new; bounded, so the payload stays small however long the workflow lives.
import { ApplicationFailure, CancelledFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ErrorType } from '../common/errors';

export interface RunSummary {
  /** The commit the run processed (the newest of a coalesced batch). */
  commit: string;
  /** How many commits the run covered. */
  covered: number;
  workflowId: string;
  /** `cancelled`: the run (not this workflow) was cancelled; `timed-out`: it ran past its deadline. */
  outcome: 'completed' | 'skipped' | 'failed' | 'timed-out' | 'cancelled' | 'duplicate';
  detail: string;
}

export interface CommitQueueState {
  pending: string[];
  /** The most recently accepted commits, oldest first: a commit seen here is never queued again. */
  accepted: string[];
  /** For accepted commits that were taken into a run: the run's workflow id (a coalesced batch shares one). */
  ranIn?: Record<string, string>;
  paused: boolean;
  processed: number;
  recent: RunSummary[];
}

/**
 * The answer to a request to queue a commit (an Update): `accepted` at `position` (1 = next),
 * `already-queued` (position 0: in the run going on now), `already-trained` / `already-deployed` with the run that took it
 * (and that run's outcome when it is still in the recent log), or `rejected` with the reason.
 */
export type QueueAnswer<Done extends string = 'already-trained' | 'already-deployed'> =
  | { status: 'accepted'; position: number }
  | { status: 'already-queued'; position: number }
  | { status: Done; workflowId: string; outcome?: RunSummary['outcome'] }
  | { status: 'rejected'; reason: string };

export const ACCEPTED_WINDOW = 1000;
/** At most this many commits wait; past it, coalescing drops the oldest (the newest covers them), per-commit refuses. */
export const MAX_PENDING = 100;
const RECENT_RUNS = 20;

export function emptyQueue(): CommitQueueState {
  return { pending: [], accepted: [], ranIn: {}, paused: false, processed: 0, recent: [] };
}

/**
 * Queues a commit unless it was already accepted, and answers where it stands. `coalesce`: the queue
 * is trained as one batch, so when full the oldest waiting commit makes room (the newest commit's
 * training covers it); otherwise a full queue refuses.
 */
export function accept<Done extends string>(
  state: CommitQueueState,
  commit: string,
  opts: { coalesce: boolean; running: readonly string[]; done: Done },
): QueueAnswer<Done> {
  const { coalesce } = opts;
  const known = whereIs(state, commit, opts.running, opts.done);
  if (known) return known;
  if (state.pending.length >= MAX_PENDING) {
    if (!coalesce) return { status: 'rejected', reason: `the queue is full (${MAX_PENDING} commits waiting): try again once it drains` };
    state.pending.shift();
  }
  remember(state, commit);
  state.pending.push(commit);
  return { status: 'accepted', position: state.pending.length };
}

/** Where an already-accepted commit stands, or null for a commit never seen (in the window). */
export function whereIs<Done extends string>(state: CommitQueueState, commit: string, running: readonly string[], done: Done): QueueAnswer<Done> | null {
  if (running.includes(commit)) return { status: 'already-queued', position: 0 };
  const i = state.pending.indexOf(commit);
  if (i >= 0) return { status: 'already-queued', position: i + 1 };
  if (!state.accepted.includes(commit)) return null;
  const workflowId = state.ranIn?.[commit];
  if (!workflowId) return { status: 'already-queued', position: 0 };
  const last = [...state.recent].reverse().find((r) => r.workflowId === workflowId);
  return { status: done, workflowId, ...(last ? { outcome: last.outcome } : {}) };
}

/** Records a commit in the bounded window of accepted ones (once). */
export function remember(state: CommitQueueState, commit: string): void {
  if (!state.accepted.includes(commit)) state.accepted.push(commit);
  if (state.accepted.length > ACCEPTED_WINDOW) {
    for (const gone of state.accepted.splice(0, state.accepted.length - ACCEPTED_WINDOW)) delete state.ranIn?.[gone];
  }
}

/** Notes which run took these commits. */
export function ranIn(state: CommitQueueState, commits: readonly string[], workflowId: string): void {
  state.ranIn ??= {};
  for (const c of commits) state.ranIn[c] = workflowId;
}

// Requests carry commit ids from outside: anything else is refused (an Update) or ignored (a signal).
export { isCommitId } from '../common/ids';

/** Takes the next batch: every pending commit when coalescing, else the oldest one. */
export function takeBatch(state: CommitQueueState, coalesce: boolean): string[] {
  return coalesce ? state.pending.splice(0) : state.pending.splice(0, 1);
}

export function record(state: CommitQueueState, run: RunSummary): void {
  state.processed += run.covered;
  state.recent.push(run);
  if (state.recent.length > RECENT_RUNS) state.recent.splice(0, state.recent.length - RECENT_RUNS);
}

/**
 * `Type: message` of the innermost cause: a child's failure wraps an activity's failure, which wraps
 * the error that says what went wrong.
 */
export function describeRootCause(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const type = e instanceof Error && 'type' in e && typeof e.type === 'string' && e.type ? `${e.type}: ` : '';
  return `${type}${e instanceof Error ? e.message : String(e)}`;
}

/** How a child run that did not complete is recorded: cancelled, timed out, a duplicate, or failed. */
export function describeChildFailure(err: unknown, duplicate: string): Pick<RunSummary, 'outcome' | 'detail'> {
  if (err instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'duplicate', detail: duplicate };
  const cause = err instanceof ChildWorkflowFailure ? err.cause : undefined;
  if (cause instanceof CancelledFailure) return { outcome: 'cancelled', detail: 'the run was cancelled' };
  if (cause instanceof ApplicationFailure && cause.type === ErrorType.TrainingTimedOut) return { outcome: 'timed-out', detail: cause.message };
  return { outcome: 'failed', detail: describeRootCause(err) };
}
