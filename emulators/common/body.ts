// Request and response helpers shared by the emulators.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './router';

/** Reads a whole request body, refusing more than `limit` bytes (the real servers cap bodies too). */
export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, { error: 'request body too large', code: 8, message: 'request body too large' });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; an empty body is `{}`. `onError` builds the emulated system's error body. */
export async function readJson<T = Record<string, unknown>>(
  req: IncomingMessage,
  onError: (message: string) => HttpError,
  limit?: number,
): Promise<T> {
  const buf = await readBody(req, limit);
  if (buf.length === 0) return {} as T;
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (err) {
    throw onError(`invalid JSON body: ${(err as Error).message}`);
  }
}

/**
 * Iterates the lines of an NDJSON request body without buffering the whole body,
 * so a client-streaming upload of any size keeps the emulator's memory flat.
 */
export async function* readNdjson(req: IncomingMessage): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of req) {
    pending += (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield line;
    }
  }
  const last = pending.trim();
  if (last) yield last;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Writes one NDJSON line and waits for the socket to drain when it is full (backpressure). */
export async function writeNdjsonLine(res: ServerResponse, value: unknown): Promise<void> {
  if (!res.write(JSON.stringify(value) + '\n')) {
    await new Promise<void>((resolve) => res.once('drain', resolve));
  }
}
