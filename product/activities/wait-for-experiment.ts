// waitForExperiment: polls the experiment until it reaches a terminal state (or, when asked, until its
// state changes), heartbeating its state each poll. A new attempt after a worker crash resumes the wait (never re-submits); a cancellation of the
// activity kills the experiment, so no training keeps running for a workflow that gave up.
import { CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { ExperimentProgress, ExperimentState, WaitForExperimentInput } from '../common/types';
import type { Clients } from './clients';
import { ErrorType } from '../common/errors';
import { durationMs } from './duration';
import { failureType } from './http/errors';
import { previousHeartbeat } from './heartbeat';

const TERMINAL: ReadonlySet<ExperimentState> = new Set(['COMPLETED', 'CANCELED', 'ERROR', 'DELETED']);

export async function waitForExperiment(clients: Clients, input: WaitForExperimentInput): Promise<ExperimentProgress> {
  const ctx = Context.current();
  const pollMs = durationMs(input.pollInterval, 'pollInterval');
  const { experimentId } = input;
  // The last state a previous attempt saw: heartbeated again at once, so progress is never reported lost.
  const resumed = previousHeartbeat<ExperimentProgress>((d) => d.experimentId === experimentId);
  if (resumed) ctx.heartbeat(resumed);

  try {
    for (;;) {
      const { experiment } = await clients.determined.getExperiment(experimentId);
      const progress: ExperimentProgress = {
        experimentId,
        state: toState(experiment.state),
        progress: typeof experiment.progress === 'number' ? experiment.progress : null,
      };
      ctx.heartbeat(progress);
      // PAUSED is not terminal: someone may activate it again; the workflow's timeout bounds the wait.
      if (TERMINAL.has(progress.state)) return progress;
      // The workflow asked to hear of each state change (it shows them in its status query).
      if (input.returnWhenStateChangesFrom !== undefined && progress.state !== input.returnWhenStateChangesFrom) return progress;
      await ctx.sleep(pollMs);
    }
  } catch (err) {
    if (err instanceof CancelledFailure && isCancelRequested(ctx)) {
      // The workflow cancelled us: stop the training. Not on worker shutdown or heartbeat timeout, where
      // another attempt will take over the wait.
      await killExperiment(clients, experimentId, ctx);
    }
    throw err;
  }
}

/** A few attempts: the activity is ending either way, and its cancellation must still be reported. */
async function killExperiment(clients: Clients, experimentId: number, ctx: Context): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await clients.determined.killExperiment(experimentId);
      return;
    } catch (err) {
      // A 4xx (e.g. the experiment already ended) will not change on a retry.
      if (failureType(err) !== ErrorType.Unavailable || attempt === 3) {
        ctx.log.warn('could not kill the experiment of a cancelled wait', { experimentId, error: String(err) });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

function isCancelRequested(ctx: Context): boolean {
  const details = ctx.cancellationDetails;
  if (details) return details.cancelRequested;
  const reason = ctx.cancellationSignal.reason as Error | undefined;
  return reason?.message === 'CANCELLED';
}

export function toState(state: string | undefined): ExperimentState {
  const name = (state ?? '').replace(/^STATE_/, '');
  return (name || 'UNSPECIFIED') as ExperimentState;
}
