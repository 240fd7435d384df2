// NDJSON on the wire: request lines read without rescanning (a ModifyFile line can carry megabytes of
// base64), and grpc-gateway's streamed responses written with backpressure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GrpcCode, PachError, httpStatusFromCode, rpcStatus, toPachError } from './errors';

/** The largest request line accepted (pachd's gRPC server refuses messages above its max size too). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export async function* readLines(req: IncomingMessage, maxLine = MAX_LINE_BYTES): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let pending = 0;
  for await (const raw of req) {
    const chunk = raw as Buffer;
    let from = 0;
    let nl: number;
    while ((nl = chunk.indexOf(10, from)) >= 0) {
      const piece = chunk.subarray(from, nl);
      const line = parts.length ? Buffer.concat([...parts, piece], pending + piece.length) : piece;
      parts = [];
      pending = 0;
      from = nl + 1;
      const text = line.toString('utf8').trim();
      if (text) yield text;
    }
    if (from < chunk.length) {
      parts.push(chunk.subarray(from));
      pending += chunk.length - from;
      if (pending > maxLine) throw new PachError(GrpcCode.ResourceExhausted, `request message larger than max (${maxLine} bytes)`);
    }
  }
  const last = Buffer.concat(parts).toString('utf8').trim();
  if (last) yield last;
}

const FLUSH_BYTES = 64 * 1024;

/**
 * A server stream as grpc-gateway v2 writes it: `{"result":…}` lines with status 200; an error
 * before the first message answers the mapped HTTP status with one `{"error":…}` line, an error
 * later appends that line to the 200 stream.
 */
export class NdjsonStream {
  private started = false;
  private buffer: string[] = [];
  private size = 0;

  constructor(private readonly res: ServerResponse) {}

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  private begin(status: number): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(status, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  }

  /** Queues one message; `flush` sends it now (live streams), else lines go out in 64 KiB writes. */
  async send(result: unknown, flush = false): Promise<void> {
    if (this.closed) throw new PachError(GrpcCode.Canceled, 'context canceled');
    this.begin(200);
    const line = JSON.stringify({ result }) + '\n';
    this.buffer.push(line);
    this.size += line.length;
    if (flush || this.size >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    if (this.closed) return;
    if (!this.res.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.res.off('drain', done);
          this.res.off('close', done);
          resolve();
        };
        this.res.on('drain', done);
        this.res.on('close', done);
      });
    }
  }

  async end(): Promise<void> {
    this.begin(200);
    await this.flush();
    if (!this.closed) this.res.end();
  }

  async fail(err: unknown): Promise<void> {
    const e = toPachError(err);
    const line = JSON.stringify({ error: rpcStatus(e.code, e.message) }) + '\n';
    if (!this.started) {
      this.started = true;
      this.res.writeHead(httpStatusFromCode(e.code), { 'content-type': 'application/json' });
      this.res.end(line);
      return;
    }
    await this.flush();
    if (!this.closed) this.res.end(line);
  }
}
