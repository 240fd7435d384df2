// The state of a long-lived workflow that processes commits one at a time: what is pending, what was
// already accepted (dedupe), and a short log of recent runs. Plain data, so it can be carried across
// continue-as-new; bounded, so the payload stays small however long the workflow lives.

export interface RunSummary {
  /** The commit the run processed (the newest of a coalesced batch). */
  commit: string;
  /** How many commits the run covered. */
  covered: number;
  workflowId: string;
  outcome: 'completed' | 'skipped' | 'failed' | 'duplicate';
  detail: string;
}

export interface CommitQueueState {
  pending: string[];
  /** The most recently accepted commits, oldest first: a commit seen here is never queued again. */
  accepted: string[];
  paused: boolean;
  processed: number;
  recent: RunSummary[];
}

export const ACCEPTED_WINDOW = 1000;
const RECENT_RUNS = 20;

export function emptyQueue(): CommitQueueState {
  return { pending: [], accepted: [], paused: false, processed: 0, recent: [] };
}

/** Queues a commit unless it was already accepted; returns whether it was new. */
export function accept(state: CommitQueueState, commit: string): boolean {
  if (state.accepted.includes(commit)) return false;
  remember(state, commit);
  state.pending.push(commit);
  return true;
}

/** Records a commit in the bounded window of accepted ones (once). */
export function remember(state: CommitQueueState, commit: string): void {
  if (!state.accepted.includes(commit)) state.accepted.push(commit);
  if (state.accepted.length > ACCEPTED_WINDOW) state.accepted.splice(0, state.accepted.length - ACCEPTED_WINDOW);
}

/** Signals carry commit ids from outside: anything else is ignored. */
export function isCommitId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(value);
}

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
