// Reads a run through the Temporal SDK's client: for `ct status --follow`, `ct trigger --wait` and the demo,
// which hold a connected client already (run-view.ts says what a reader returns).
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { NotFoundError } from './cli-support';
import { FAILED_STATES, type AnyStatus, type RunReader } from './run-view';

export function sdkRunReader(client: Client): RunReader {
  return async (workflowId) => {
    const handle = client.workflow.getHandle(workflowId);
    let statusUnavailable: string | undefined;
    // Both at once: the query does not need the description.
    const [description, status] = await Promise.all([
      handle.describe().catch((err: unknown) => {
        throw err instanceof WorkflowNotFoundError ? new NotFoundError(err.message) : err;
      }),
      handle.query<AnyStatus>('status').catch((err: unknown) => {
        statusUnavailable = serverReason(err);
        return null;
      }),
    ]);
    const { payloadConverter } = client.options.loadedDataConverter;
    const heartbeats = (description.raw.pendingActivities ?? []).flatMap((activity) => {
      const details = activity.heartbeatDetails?.payloads?.[0];
      return details ? [payloadConverter.fromPayload(details)] : [];
    });
    let failure: string | undefined;
    if (FAILED_STATES.includes(description.status.name)) {
      await handle.result().catch((err: unknown) => {
        const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
        failure = (cause?.message ?? (err as Error).message).split('\n')[0];
      });
    }
    return {
      runId: description.runId,
      type: description.type,
      state: description.status.name,
      start: description.startTime,
      close: description.closeTime,
      status,
      statusUnavailable,
      heartbeats,
      failure,
    };
  };
}

/** The server's reason for a failed call (the SDK wraps most in "Failed to query Workflow"), first line. */
function serverReason(err: unknown): string {
  const details = (err as { cause?: { details?: unknown } }).cause?.details;
  return (typeof details === 'string' && details ? details : (err as Error).message).split('\n')[0];
}
