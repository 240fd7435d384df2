// The master's error shapes: grpc-gateway routes answer {"error":{code, reason, error}}
// (master/internal/grpcutil/errors.go); echo routes such as /checkpoints and /info answer {"message"}.
import { HttpError } from '../common/router';

/** gRPC status codes the emulator uses, with the HTTP status grpc-gateway maps each to. */
export const GrpcCode = {
  InvalidArgument: { code: 3, http: 400 },
  NotFound: { code: 5, http: 404 },
  AlreadyExists: { code: 6, http: 409 },
  PermissionDenied: { code: 7, http: 403 },
  FailedPrecondition: { code: 9, http: 400 },
  Unimplemented: { code: 12, http: 501 },
  Internal: { code: 13, http: 500 },
  Unavailable: { code: 14, http: 503 },
  Unauthenticated: { code: 16, http: 401 },
} as const;

export type GrpcCodeName = keyof typeof GrpcCode;

export interface GatewayErrorBody {
  error: { code: number; reason: string; error: string };
}

export function gatewayErrorBody(name: GrpcCodeName, message: string): GatewayErrorBody {
  return { error: { code: GrpcCode[name].code, reason: name, error: message } };
}

/** An error answered the way the master's grpc-gateway answers it. */
export function apiError(name: GrpcCodeName, message: string): HttpError {
  return new HttpError(GrpcCode[name].http, gatewayErrorBody(name, message));
}

/** An error answered the way the master's echo routes answer it. */
export function echoError(status: number, message: string): HttpError {
  return new HttpError(status, { message });
}

/** The body used by the common server for 404/405/injected faults/crashes: the gateway shape. */
export function errorBodyForStatus(status: number, message: string): GatewayErrorBody {
  const byStatus: Record<number, GrpcCodeName> = {
    400: 'InvalidArgument',
    401: 'Unauthenticated',
    403: 'PermissionDenied',
    404: 'NotFound',
    409: 'AlreadyExists',
    501: 'Unimplemented',
    503: 'Unavailable',
  };
  const name = byStatus[status] ?? 'Internal';
  return { error: { code: GrpcCode[name].code, reason: name, error: message } };
}
