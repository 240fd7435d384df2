// A run that was asked to cancel ends CANCELLED, even when the step it was in could not hear it: an
// activity that does not heartbeat runs on (cancellation waits for it, see activities.ts) and then fails
// or completes. Its failure then says nothing about the run: the run was cancelled.
import { CancellationScope, CancelledFailure, isCancellation } from '@temporalio/workflow';

/** Whether the workflow has been asked to cancel (call from the workflow's root scope). */
export function cancelRequested(): boolean {
  return CancellationScope.current().consideredCancelled;
}

/** Runs the workflow's body; a failure that follows a cancel request is reported as the cancellation. */
export async function endCancelledWhenAsked<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (!isCancellation(err) && cancelRequested()) throw new CancelledFailure('the run was cancelled', undefined, err instanceof Error ? err : undefined);
    throw err;
  }
}
