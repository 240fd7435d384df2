// Heartbeat helpers: activities that block on one long call keep heartbeating while it runs, so the
// server notices a dead worker quickly and the activity receives cancellation promptly.
import { Context } from '@temporalio/activity';

/** Heartbeats `details()` every `intervalMs` until `work` settles. */
export async function heartbeatDuring<T>(work: Promise<T>, details: () => unknown, intervalMs = 5_000): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), intervalMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** The heartbeat details of the previous attempt, if they have the expected shape. */
export function previousHeartbeat<T extends object>(isValid: (d: Partial<T>) => boolean): T | undefined {
  const details = Context.current().info.heartbeatDetails as Partial<T> | undefined;
  return details && typeof details === 'object' && isValid(details) ? (details as T) : undefined;
}
