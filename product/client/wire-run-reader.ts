// Reads a run without the Temporal SDK, for `ct status` (why: grpc-wire.ts): DescribeWorkflowExecution and the
// status query at once on one connection, then the close event of a run that failed. It answers as the SDK's reader does
// (sdk-run-reader.ts; the two are compared on the same runs in the tests), with the default data converter's
// JSON payloads, which is what this product's workflows use.
import { cannotReach, type TemporalConfig } from '../worker/temporal-config';
import { NotFoundError } from './cli-support';
import { FAILED_STATES, type AnyStatus, type RunReader, type RunReading } from './run-view';
import { GrpcCode, GrpcStatusError, ProtoMessage, ProtoWriter, openChannel } from './grpc-wire';

// temporal.api.enums.v1.WorkflowExecutionStatus, named as the SDK names them.
const STATES = ['UNSPECIFIED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT', 'PAUSED'];
const CLOSE_EVENT = 2; // HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
/** Answers that mean the server cannot be used at all, reported as the SDK's connection failure is. */
const CONNECTION_REFUSALS: number[] = [GrpcCode.UNAVAILABLE, GrpcCode.UNAUTHENTICATED, GrpcCode.PERMISSION_DENIED];

/**
 * Reads one run over a connection of its own, closed before it returns. A transport failure (or a refused
 * credential) is "cannot reach Temporal" with the same line as the SDK's connection failure (temporal-config.ts).
 */
export function wireRunReader(config: TemporalConfig): RunReader {
  return async (workflowId) => {
    const channel = openChannel(config);
    const execution = new ProtoWriter().string(1, workflowId);
    const request = () => new ProtoWriter().string(1, config.namespace).message(2, execution);
    try {
      let statusUnavailable: string | undefined;
      const [description, queried] = await Promise.all([
        channel.unary('DescribeWorkflowExecution', request().finish()),
        channel
          .unary('QueryWorkflow', request().message(3, new ProtoWriter().string(1, 'status')).finish())
          .catch((err: unknown) => {
            if (!(err instanceof GrpcStatusError) || err.code === GrpcCode.UNAVAILABLE) throw err;
            statusUnavailable = err.details.split('\n')[0];
            return null;
          }),
      ]);
      const reading = decodeReading(description, queried, statusUnavailable);
      // A closed run's failure is in its close event (asked for only then: on an open run, the server waits for it).
      if (FAILED_STATES.includes(reading.state)) {
        const closed = await channel.unary('GetWorkflowExecutionHistory', request().varint(6, CLOSE_EVENT).finish());
        reading.failure = closeFailure(new ProtoMessage(closed));
      }
      return reading;
    } catch (err) {
      if (err instanceof GrpcStatusError && err.code === GrpcCode.NOT_FOUND) throw new NotFoundError(err.details);
      if (err instanceof GrpcStatusError && !CONNECTION_REFUSALS.includes(err.code)) throw err;
      throw await cannotReach(config, err);
    } finally {
      channel.close();
    }
  };
}

function decodeReading(description: Buffer, queried: Buffer | null, statusUnavailable?: string): RunReading {
  const answer = new ProtoMessage(description);
  const info = answer.message(2); // workflow_execution_info
  if (!info) throw new Error('DescribeWorkflowExecution: an answer without workflow_execution_info');
  const state = STATES[info.number(5)] ?? 'UNKNOWN';
  const query = queried ? new ProtoMessage(queried) : null;
  const rejected = query?.message(2); // query_rejected: only with a reject condition, which is not asked for
  const status = query && !rejected ? (firstPayload(query.message(1)) as AnyStatus | null) : null;
  return {
    runId: info.message(1)?.string(2) ?? '',
    type: info.message(2)?.string(1) ?? '',
    state,
    start: timestamp(info.message(3)) ?? new Date(0),
    close: timestamp(info.message(4)),
    status,
    statusUnavailable: rejected ? `query rejected: the run is ${STATES[rejected.number(1)]}` : statusUnavailable,
    // pending_activities[].heartbeat_details
    heartbeats: answer.messages(3).flatMap((activity) => {
      const details = activity.message(4);
      return details?.messages(1).length ? [firstPayload(details)] : [];
    }),
  };
}

/** Why the run ended, in the SDK's words (WorkflowClient.result()), from GetWorkflowExecutionHistoryResponse. */
function closeFailure(history: ProtoMessage): string | undefined {
  const event = history.message(1)?.messages(1).at(-1); // history.events
  if (!event) return undefined;
  const failed = event.message(8); // workflow_execution_failed_event_attributes
  if (failed) return failed.message(1)?.string(1).split('\n')[0] ?? 'Workflow execution failed'; // failure.message
  if (event.message(9)) return 'Workflow execution timed out';
  if (event.message(29)) return 'Workflow canceled';
  const terminated = event.message(27);
  if (terminated) return (terminated.string(1) || 'Workflow execution terminated').split('\n')[0]; // reason
  return undefined;
}

function timestamp(ts: ProtoMessage | undefined): Date | undefined {
  return ts ? new Date(ts.number(1) * 1000 + Math.floor(ts.number(2) / 1e6)) : undefined;
}

/** The first value of a temporal.api.common.v1.Payloads, as the default payload converter decodes it. */
function firstPayload(payloads: ProtoMessage | undefined): unknown {
  const payload = payloads?.messages(1)[0];
  if (!payload) return undefined;
  const metadata = new Map(payload.messages(1).map((entry) => [entry.string(1), entry.bytes(2)?.toString('utf8')]));
  const data = payload.bytes(2) ?? Buffer.alloc(0);
  switch (metadata.get('encoding')) {
    case 'json/plain':
      return JSON.parse(data.toString('utf8'));
    case 'binary/null':
      return undefined;
    case 'binary/plain':
      return new Uint8Array(data);
    default:
      throw new Error(`a payload encoded as "${metadata.get('encoding')}": ct status reads the default data converter's encodings only`);
  }
}
