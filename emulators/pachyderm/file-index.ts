// The on-disk file table of a commit: one line per file or directory, sorted by path, so that
// listing, diffing and reading a commit of millions of files streams in constant memory.
//
// Line format: `<key>\t<F|D>\t<sha256 hex>\t<size>\t<location>\n`. A file's key is its path
// (`/a/b.txt`); a directory's key ends with a slash (`/a/`), as pachd lists directories, and the
// root is `/`. A sparse side table (every SPARSE_EVERY-th key and its byte offset) lets a reader
// seek to a path without scanning the whole table.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import crypto from 'node:crypto';

export interface FileEntry {
  /** Path of a file, or directory key with a trailing slash. */
  key: string;
  dir: boolean;
  /** sha256 (hex) of a file's content, or of a directory's children names and hashes. */
  hash: string;
  size: number;
  /** Where the content is (see content-store.ts); `-` for directories. */
  loc: string;
}

const SPARSE_EVERY = 1024;
const READ_CHUNK = 256 * 1024;
const WRITE_BUFFER = 256 * 1024;

export function formatEntry(e: FileEntry): string {
  return `${e.key}\t${e.dir ? 'D' : 'F'}\t${e.hash}\t${e.size}\t${e.loc}\n`;
}

export function parseEntry(line: string): FileEntry {
  const parts = line.split('\t');
  if (parts.length !== 5) throw new Error(`corrupt file index line: ${JSON.stringify(line.slice(0, 200))}`);
  return { key: parts[0], dir: parts[1] === 'D', hash: parts[2], size: Number(parts[3]), loc: parts[4] };
}

interface SparsePoint {
  key: string;
  offset: number;
}

/** Writes a sorted index file atomically (temp file, then rename on close). */
export class IndexWriter {
  private readonly tmp: string;
  private fd = -1;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private offset = 0;
  private lines = 0;
  private lastKey: string | null = null;
  private readonly sparse: SparsePoint[] = [];

  constructor(readonly file: string) {
    this.tmp = `${file}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  }

  async open(): Promise<this> {
    this.fd = fs.openSync(this.tmp, 'w');
    return this;
  }

  async write(e: FileEntry): Promise<void> {
    if (this.lastKey !== null && !(this.lastKey < e.key)) {
      throw new Error(`file index out of order: ${this.lastKey} then ${e.key}`);
    }
    this.lastKey = e.key;
    if (this.lines % SPARSE_EVERY === 0) this.sparse.push({ key: e.key, offset: this.offset });
    const buf = Buffer.from(formatEntry(e), 'utf8');
    this.chunks.push(buf);
    this.buffered += buf.length;
    this.offset += buf.length;
    this.lines++;
    if (this.buffered >= WRITE_BUFFER) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const data = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    await new Promise<void>((resolve, reject) =>
      fs.write(this.fd, data, 0, data.length, null, (err) => (err ? reject(err) : resolve())),
    );
  }

  get count(): number {
    return this.lines;
  }

  async close(): Promise<void> {
    await this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.writeFileSync(sparsePath(this.tmp), JSON.stringify(this.sparse));
    fs.renameSync(sparsePath(this.tmp), sparsePath(this.file));
    fs.renameSync(this.tmp, this.file);
    sparseCache.delete(this.file);
  }

  abort(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    fs.rmSync(this.tmp, { force: true });
    fs.rmSync(sparsePath(this.tmp), { force: true });
  }
}

function sparsePath(file: string): string {
  return file + '.sparse.json';
}

const sparseCache = new Map<string, SparsePoint[]>();

function loadSparse(file: string): SparsePoint[] {
  let points = sparseCache.get(file);
  if (!points) {
    points = JSON.parse(fs.readFileSync(sparsePath(file), 'utf8')) as SparsePoint[];
    if (sparseCache.size > 256) sparseCache.clear();
    sparseCache.set(file, points);
  }
  return points;
}

/** Removes an index file and its sparse table. */
export function removeIndex(file: string): void {
  fs.rmSync(file, { force: true });
  fs.rmSync(sparsePath(file), { force: true });
  sparseCache.delete(file);
}

export function copyIndex(from: string, to: string): void {
  fs.copyFileSync(sparsePath(from), sparsePath(to));
  fs.copyFileSync(from, to);
  sparseCache.delete(to);
}

/** Reads a sorted index file. An absent file reads as empty (a commit without files). */
export class IndexReader {
  constructor(readonly file: string | null) {}

  /** Entries with key >= `lower` (all when omitted), in path order, read in chunks. */
  async *entries(lower?: string): AsyncGenerator<FileEntry> {
    if (!this.file || !fs.existsSync(this.file)) return;
    let start = 0;
    if (lower !== undefined) {
      const points = loadSparse(this.file);
      // The last sparse point whose key is < lower: the wanted key cannot be before it.
      let lo = 0;
      let hi = points.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (points[mid].key < lower) {
          start = points[mid].offset;
          lo = mid + 1;
        } else hi = mid - 1;
      }
    }
    const fh = await fsp.open(this.file, 'r');
    try {
      let position = start;
      let rest = Buffer.alloc(0);
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        let data = rest.length ? Buffer.concat([rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        let from = 0;
        let nl: number;
        while ((nl = data.indexOf(10, from)) >= 0) {
          const entry = parseEntry(data.toString('utf8', from, nl));
          from = nl + 1;
          if (lower !== undefined && entry.key < lower) continue;
          yield entry;
        }
        data = data.subarray(from);
        rest = Buffer.from(data);
      }
    } finally {
      await fh.close();
    }
  }

  /** Entries equal to `key` or under the directory path `prefixPath` (its key and all descendants). */
  async *under(prefixPath: string): AsyncGenerator<FileEntry> {
    if (prefixPath === '/') {
      yield* this.entries();
      return;
    }
    for await (const e of this.entries(prefixPath)) {
      // Everything under `/p/` sorts before `/p0` ('0' follows '/').
      if (e.key >= prefixPath + '0') return;
      if (e.key === prefixPath || e.key.startsWith(prefixPath + '/')) yield e;
    }
  }

  async lookup(key: string): Promise<FileEntry | undefined> {
    for await (const e of this.entries(key)) {
      return e.key === key ? e : undefined;
    }
    return undefined;
  }
}

/** Merges two sorted streams into pairs: [a, undefined], [undefined, b] or [a, b] for equal keys. */
export async function* mergeSorted<A extends { key: string }, B extends { key: string }>(
  a: AsyncIterator<A>,
  b: AsyncIterator<B>,
): AsyncGenerator<[A | undefined, B | undefined]> {
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.key < y.value.key)) {
      yield [x.value as A, undefined];
      x = await a.next();
    } else if (x.done || y.value.key < x.value.key) {
      yield [undefined, y.value];
      y = await b.next();
    } else {
      yield [x.value, y.value];
      x = await a.next();
      y = await b.next();
    }
  }
}

export async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}
