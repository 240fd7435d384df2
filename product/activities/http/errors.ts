// Maps HTTP and transport errors to typed ApplicationFailures: retryable `Unavailable` for what a retry
// can fix (5xx, 429, timeouts, resets), non-retryable for what it cannot (most 4xx).
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { isAxiosError, isCancel } from 'axios';
import { ErrorType, type ErrorTypeName } from '../../common/errors';

/** A failure of one request: the method and path it was, and what the server said. */
export function failure(type: ErrorTypeName, message: string, nonRetryable: boolean, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable, details: details === undefined ? undefined : [details] });
}

export function nonRetryable(type: ErrorTypeName, message: string): ApplicationFailure {
  return failure(type, message, true);
}

/** The type a status maps to, and whether a retry can help. */
export function classifyStatus(status: number): { type: ErrorTypeName; retryable: boolean } {
  if (status === 429 || status === 408 || status >= 500) return { type: ErrorType.Unavailable, retryable: true };
  if (status === 401 || status === 403) return { type: ErrorType.Unauthenticated, retryable: false };
  if (status === 404) return { type: ErrorType.NotFound, retryable: false };
  return { type: ErrorType.BadRequest, retryable: false };
}

/** gRPC status codes (in NDJSON error lines and grpc-gateway bodies) to the HTTP status grpc-gateway would use. */
export function grpcCodeToHttpStatus(code: number): number {
  const table: Record<number, number> = {
    1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503,
    15: 500, 16: 401,
  };
  return table[code] ?? 500;
}

/** The server's message from the error bodies of the three systems (grpc-gateway, Seldon, OIDC). */
export function serverMessage(body: unknown): string {
  if (body === undefined || body === null || body === '') return '';
  if (typeof body === 'string') return body.slice(0, 2000);
  if (Buffer.isBuffer(body)) return body.toString('utf8').slice(0, 2000);
  if (typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string' && b.message) return b.message;
    if (typeof b.error_description === 'string') return b.error_description;
    if (typeof b.error === 'string') return b.error;
    if (b.error && typeof b.error === 'object') return serverMessage(b.error);
    return JSON.stringify(body).slice(0, 2000);
  }
  return String(body);
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH',
  'ENETUNREACH', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
]);

/**
 * Converts anything a request threw into a Temporal failure naming `what` (`GET /api/v1/...`).
 * Cancellation of the activity is rethrown as is, so Temporal sees a cancellation and not an error.
 */
export function toFailure(err: unknown, what: string, signal?: AbortSignal): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : new CancelledFailure('CANCELLED');
  if (isCancel(err)) return new CancelledFailure('CANCELLED');
  if (isAxiosError(err)) {
    if (err.response) {
      const status = err.response.status;
      const { type, retryable } = classifyStatus(status);
      const message = serverMessage(err.response.data) || err.response.statusText || 'no message';
      return failure(type, `${what}: HTTP ${status}: ${message}`, !retryable, { status, what });
    }
    // No response: the connection failed, timed out or was reset; all worth a retry.
    return failure(ErrorType.Unavailable, `${what}: ${err.code ?? 'network error'}: ${err.message}`, false, { what, code: err.code });
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && TRANSIENT_CODES.has(code)) {
    return failure(ErrorType.Unavailable, `${what}: ${code}: ${(err as Error).message}`, false, { what });
  }
  return err;
}

/** True for a request that failed because it took longer than its timeout. */
export function isTimeout(err: unknown): boolean {
  if (!(err instanceof ApplicationFailure) || err.type !== ErrorType.Unavailable) return false;
  const code = (err.details?.[0] as { code?: string } | undefined)?.code;
  return code === 'ECONNABORTED' || code === 'ETIMEDOUT';
}

/** The failure's type when it is one of ours. */
export function failureType(err: unknown): string | undefined {
  return err instanceof ApplicationFailure ? (err.type ?? undefined) : undefined;
}

/** The HTTP status a failed request got, when it got an answer. */
export function failureStatus(err: unknown): number | undefined {
  if (!(err instanceof ApplicationFailure)) return undefined;
  const status = (err.details?.[0] as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}
