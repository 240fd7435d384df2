// Workflow-side deadlines: a durable timer bounds a piece of work, however many activity attempts and
// state changes it takes. On expiry the work's scope is cancelled (its activities with it).
import { CancellationScope, condition } from '@temporalio/workflow';

/** Thrown by withDeadline when its timer fires first. */
export class DeadlineExpired extends Error {
  constructor(readonly timeoutMs: number) {
    super(`deadline of ${timeoutMs} ms expired`);
    this.name = 'DeadlineExpired';
  }
}

/**
 * Runs `fn` in a cancellable scope bounded by a durable timer: when the timer fires first, the scope is
 * cancelled, its cancellation awaited, and DeadlineExpired thrown. A cancellation of the workflow still
 * reaches `fn` as usual (the scope is a child of the current one).
 */
export async function withDeadline<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const scope = new CancellationScope();
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  const running = scope.run(fn).then(
    (value) => void (outcome = { ok: true, value }),
    (error: unknown) => void (outcome = { ok: false, error }),
  );
  let inTime: boolean;
  try {
    inTime = await condition(() => outcome !== undefined, timeoutMs);
  } catch (err) {
    // The workflow is being cancelled: the scope is too; let its activities finish cancelling first.
    await running;
    throw err;
  }
  if (!inTime) {
    scope.cancel();
    await running;
    throw new DeadlineExpired(timeoutMs);
  }
  const settled = outcome as { ok: true; value: T } | { ok: false; error: unknown };
  if (!settled.ok) throw settled.error;
  return settled.value;
}
