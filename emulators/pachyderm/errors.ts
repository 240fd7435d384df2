// gRPC status errors as pachd returns them, and the HTTP statuses grpc-gateway v2 maps them to.

export enum GrpcCode {
  OK = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** An error with a gRPC code; both the REST gateway and the gRPC server answer it faithfully. */
export class PachError extends Error {
  constructor(
    readonly code: GrpcCode,
    message: string,
  ) {
    super(message);
    this.name = 'PachError';
  }
}

/** grpc-gateway v2 `HTTPStatusFromCode`. */
export function httpStatusFromCode(code: GrpcCode): number {
  switch (code) {
    case GrpcCode.OK:
      return 200;
    case GrpcCode.Canceled:
      return 499;
    case GrpcCode.InvalidArgument:
    case GrpcCode.FailedPrecondition:
    case GrpcCode.OutOfRange:
      return 400;
    case GrpcCode.DeadlineExceeded:
      return 504;
    case GrpcCode.NotFound:
      return 404;
    case GrpcCode.AlreadyExists:
    case GrpcCode.Aborted:
      return 409;
    case GrpcCode.PermissionDenied:
      return 403;
    case GrpcCode.Unauthenticated:
      return 401;
    case GrpcCode.ResourceExhausted:
      return 429;
    case GrpcCode.Unimplemented:
      return 501;
    case GrpcCode.Unavailable:
      return 503;
    default:
      return 500;
  }
}

/** The inverse used for injected HTTP faults, so their bodies carry a plausible gRPC code. */
export function codeFromHttpStatus(status: number): GrpcCode {
  switch (status) {
    case 400:
      return GrpcCode.InvalidArgument;
    case 401:
      return GrpcCode.Unauthenticated;
    case 403:
      return GrpcCode.PermissionDenied;
    case 404:
      return GrpcCode.NotFound;
    case 405:
    case 501:
      return GrpcCode.Unimplemented;
    case 409:
      return GrpcCode.AlreadyExists;
    case 429:
      return GrpcCode.ResourceExhausted;
    case 502:
    case 503:
      return GrpcCode.Unavailable;
    case 504:
      return GrpcCode.DeadlineExceeded;
    default:
      return GrpcCode.Internal;
  }
}

/** The `google.rpc.Status` JSON body grpc-gateway writes for an error. */
export interface RpcStatusJson {
  code: number;
  message: string;
  details: unknown[];
}

export function rpcStatus(code: GrpcCode, message: string): RpcStatusJson {
  return { code, message, details: [] };
}

/** Any thrown value as a PachError: unknown errors become Unknown, as a Go `errors.Errorf` does in pachd. */
export function toPachError(err: unknown): PachError {
  if (err instanceof PachError) return err;
  return new PachError(GrpcCode.Unknown, err instanceof Error ? err.message : String(err));
}

export const invalidArgument = (message: string) => new PachError(GrpcCode.InvalidArgument, message);
export const notFound = (message: string) => new PachError(GrpcCode.NotFound, message);

// pachd's auth errors (src/auth/auth.go), word for word.
export const ERR_NOT_SIGNED_IN = 'no authentication token (try logging in)';
export const ERR_BAD_TOKEN = 'provided auth token is corrupted or has expired (try logging in again)';
export const ERR_NOT_ACTIVATED = 'the auth service is not activated';
