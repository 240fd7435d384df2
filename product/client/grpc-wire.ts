// A minimal gRPC client (unary calls over node:http2) and the protobuf wire format it carries, for `ct status`.
// Loading the Temporal SDK takes 200+ ms (it builds the reflection of the whole Temporal API), several times
// node's own start: too slow for a command people type to glance at a run. `ct status` needs three read-only
// calls and a dozen fields of their answers, so it speaks them here (status-wire.ts); every other command uses
// the SDK. Protobuf field numbers never change in a published API, so the few used here are stable.
import http2 from 'node:http2';
import type { TemporalConfig } from '../worker/temporal-config';
import { tlsConnectOptions } from '../worker/tls-probe';

/** A call the server answered with a non-OK gRPC status. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(details || `gRPC status ${code}`);
  }
}

export const GrpcCode = { NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

// ---- protobuf: writing ----

/** A protobuf message being written: fields in order, each as its wire bytes. */
export class ProtoWriter {
  private readonly parts: Buffer[] = [];

  string(field: number, value: string | undefined): this {
    if (value) this.bytes(field, Buffer.from(value, 'utf8'));
    return this;
  }

  varint(field: number, value: number): this {
    if (value) this.parts.push(varint((field << 3) | 0), varint(value));
    return this;
  }

  message(field: number, message: ProtoWriter): this {
    return this.bytes(field, message.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }

  private bytes(field: number, value: Buffer): this {
    this.parts.push(varint((field << 3) | 2), varint(value.length), value);
    return this;
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

// ---- protobuf: reading ----

/** A decoded message: each field number's values in order (numbers for varints, bytes for the rest). */
export class ProtoMessage {
  private readonly fields = new Map<number, (number | Buffer)[]>();

  constructor(buf: Buffer) {
    let at = 0;
    const readVarint = (): number => {
      let n = 0;
      for (let scale = 1; ; scale *= 0x80) {
        if (at >= buf.length) throw new Error('protobuf: truncated varint');
        const b = buf[at++];
        n += (b & 0x7f) * scale;
        if (b < 0x80) return n;
      }
    };
    while (at < buf.length) {
      const key = readVarint();
      const field = Math.floor(key / 8);
      let value: number | Buffer;
      switch (key & 7) {
        case 0:
          value = readVarint();
          break;
        case 1:
          value = buf.subarray(at, (at += 8));
          break;
        case 2: {
          const len = readVarint();
          value = buf.subarray(at, (at += len));
          break;
        }
        case 5:
          value = buf.subarray(at, (at += 4));
          break;
        default:
          throw new Error(`protobuf: unsupported wire type ${key & 7}`);
      }
      if (at > buf.length) throw new Error('protobuf: truncated field');
      const values = this.fields.get(field);
      if (values) values.push(value);
      else this.fields.set(field, [value]);
    }
  }

  /** The last value of a scalar field (protobuf's rule), 0 when absent. */
  number(field: number): number {
    const v = this.fields.get(field)?.at(-1);
    return typeof v === 'number' ? v : 0;
  }

  string(field: number): string {
    const v = this.fields.get(field)?.at(-1);
    return Buffer.isBuffer(v) ? v.toString('utf8') : '';
  }

  bytes(field: number): Buffer | undefined {
    const v = this.fields.get(field)?.at(-1);
    return Buffer.isBuffer(v) ? v : undefined;
  }

  message(field: number): ProtoMessage | undefined {
    const v = this.bytes(field);
    return v ? new ProtoMessage(v) : undefined;
  }

  messages(field: number): ProtoMessage[] {
    return (this.fields.get(field) ?? []).filter(Buffer.isBuffer).map((b) => new ProtoMessage(b));
  }
}

// ---- gRPC over HTTP/2 ----

export interface GrpcChannel {
  /** One unary call: the request message's bytes in, the response message's bytes out. */
  unary(method: string, request: Buffer): Promise<Buffer>;
  close(): void;
}

/**
 * A channel to Temporal's frontend as the SDK would open it from the same configuration: TLS (system CAs or the
 * configured CA, client certificate, server name), the API key as a bearer token with the namespace header,
 * and the profile's gRPC metadata. A failure to connect rejects every call with the transport's error.
 */
export function openChannel(config: TemporalConfig, connectTimeoutMs = 5000): GrpcChannel {
  const tls = tlsConnectOptions(config);
  const session = http2.connect(`${tls ? 'https' : 'http'}://${config.address}`, tls ?? {});
  let failure: Error | undefined;
  // Connected once the server has sent its HTTP/2 settings: a listener that accepts and never speaks times out.
  const timer = setTimeout(() => session.destroy(new Error(`no connection within ${connectTimeoutMs / 1000}s`)), connectTimeoutMs);
  session.once('remoteSettings', () => clearTimeout(timer));
  session.on('error', (err) => {
    failure ??= err;
  });
  session.once('close', () => clearTimeout(timer));
  const metadata: Record<string, string> = {
    ...config.metadata,
    ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}`, 'temporal-namespace': config.namespace } : {}),
  };
  return {
    unary: (method, request) =>
      new Promise<Buffer>((resolve, reject) => {
        if (failure || session.destroyed) return reject(failure ?? new Error('connection closed'));
        const frame = Buffer.alloc(5 + request.length);
        frame.writeUInt32BE(request.length, 1); // byte 0: not compressed
        request.copy(frame, 5);
        const stream = session.request({
          ...metadata,
          ':method': 'POST',
          ':path': `/temporal.api.workflowservice.v1.WorkflowService/${method}`,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        const chunks: Buffer[] = [];
        let status: string | undefined;
        let message = '';
        const takeStatus = (headers: http2.IncomingHttpHeaders) => {
          if (headers['grpc-status'] !== undefined) {
            status = String(headers['grpc-status']);
            message = percentDecoded(String(headers['grpc-message'] ?? ''));
          }
        };
        stream.on('response', (headers) => {
          const httpStatus = headers[':status'];
          if (httpStatus !== 200) stream.destroy(new Error(`HTTP ${httpStatus} from ${config.address}: not a gRPC server?`));
          takeStatus(headers); // a trailers-only answer (an error) has its status here
        });
        stream.on('trailers', takeStatus);
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        // A stream cancelled because the connection failed carries the connection's error as its cause.
        stream.on('error', (err: Error) => reject(failure ?? (err.cause instanceof Error ? err.cause : err)));
        stream.on('close', () => {
          if (status === undefined) return reject(failure ?? new Error(`${method}: the stream closed without a gRPC status`));
          if (status !== '0') return reject(new GrpcStatusError(Number(status), message));
          const body = Buffer.concat(chunks);
          if (body.length < 5 || body[0] !== 0) return reject(new Error(`${method}: an answer that is not one uncompressed message`));
          resolve(body.subarray(5, 5 + body.readUInt32BE(1)));
        });
        stream.end(frame);
      }),
    close: () => {
      clearTimeout(timer);
      session.close();
    },
  };
}

/** grpc-message is percent-encoded; a malformed one is shown as sent. */
function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
