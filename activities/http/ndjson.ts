// Reads grpc-gateway NDJSON streams (`{"result": ...}` per line, `{"error": ...}` for a failure) line by
// line, so a stream of any length is processed in constant memory.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { classifyStatus, failure, grpcCodeToHttpStatus, serverMessage, toFailure } from './errors';

export async function* readNdjsonResults<T>(stream: Readable, what: string): AsyncGenerator<T> {
  const decoder = new StringDecoder('utf8'); // a multi-byte character may span two chunks
  let pending = '';
  const parse = (line: string): T => {
    let value: { result?: T; error?: { code?: number; grpcCode?: number; message?: string } };
    try {
      value = JSON.parse(line) as typeof value;
    } catch {
      throw failure('Unavailable', `${what}: malformed NDJSON line: ${line.slice(0, 200)}`, false);
    }
    if (value.error) {
      const code = value.error.grpcCode ?? value.error.code ?? 2;
      const { type, retryable } = classifyStatus(grpcCodeToHttpStatus(code));
      throw failure(type, `${what}: ${serverMessage(value.error)}`, !retryable, { grpcCode: code, what });
    }
    return (value.result ?? value) as T;
  };
  const chunks = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } catch (err) {
        throw toFailure(err, what); // the connection broke mid-stream
      }
      if (next.done) break;
      pending += decoder.write(next.value as Buffer);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line) yield parse(line);
      }
    }
  } finally {
    stream.destroy(); // a consumer that stops early must not leave the connection open
  }
  const last = (pending + decoder.end()).trim();
  if (last) yield parse(last);
}
