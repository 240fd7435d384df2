// Reads grpc-gateway NDJSON streams (`{"result": ...}` per line, `{"error": ...}` for a failure) line by
// line, so a stream of any length is processed in constant memory.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { classifyStatus, failure, grpcCodeToHttpStatus, serverMessage, toFailure } from './errors';

/**
 * The results of each chunk received, as one batch. For streams of many small lines (DiffFile) this is
 * what to iterate: one `for await` step per line costs a few promises, each with an async hook inside an
 * activity (AsyncLocalStorage), which measured more than the JSON.parse of a ~420-byte line.
 * Results before a failed line are delivered (as a batch) before the failure is thrown.
 */
export async function* readNdjsonBatches<T>(stream: Readable, what: string): AsyncGenerator<T[]> {
  const decoder = new StringDecoder('utf8'); // a multi-byte character may span two chunks
  let pending = ''; // the start of a line whose end has not arrived yet
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
      const piece = decoder.write(next.value as Buffer);
      const end = piece.lastIndexOf('\n');
      if (end < 0) {
        pending += piece; // only the new piece is searched, so a long line is not rescanned per chunk
        continue;
      }
      const text = pending + piece.slice(0, end + 1); // complete lines only
      pending = piece.slice(end + 1);
      const batch: T[] = [];
      try {
        for (let start = 0, nl = text.indexOf('\n'); nl >= 0; start = nl + 1, nl = text.indexOf('\n', start)) {
          const line = text.slice(start, nl).trim();
          if (line) batch.push(parseLine<T>(line, what));
        }
      } catch (err) {
        if (batch.length) yield batch;
        throw err;
      }
      if (batch.length) yield batch;
    }
  } finally {
    stream.destroy(); // a consumer that stops early must not leave the connection open
  }
  const last = (pending + decoder.end()).trim();
  if (last) yield [parseLine<T>(last, what)];
}

/** The results one by one, for streams of few, large lines (GetFile). */
export async function* readNdjsonResults<T>(stream: Readable, what: string): AsyncGenerator<T> {
  for await (const batch of readNdjsonBatches<T>(stream, what)) yield* batch;
}

function parseLine<T>(line: string, what: string): T {
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
}
