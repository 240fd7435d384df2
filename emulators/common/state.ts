// Durable state for the emulators: JSON documents written atomically, and content-addressed blobs.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/** A JSON document on disk, replaced atomically (write to a temp file, fsync, rename) so a kill never corrupts it. */
export class JsonFile<T> {
  constructor(
    readonly file: string,
    private readonly initial: () => T,
  ) {}

  load(): T {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.initial();
      throw err;
    }
  }

  save(value: T): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify(value));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}

/** Content-addressed blobs (sha256) under `<dir>/<aa>/<rest>`; identical content is stored once. */
export class BlobStore {
  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  }

  pathOf(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`invalid blob hash ${hash}`);
    return path.join(this.dir, hash.slice(0, 2), hash.slice(2));
  }

  async put(data: Buffer): Promise<{ hash: string; size: number }> {
    const hash = crypto.createHash('sha256').update(data).digest('hex');
    const target = this.pathOf(hash);
    if (!fs.existsSync(target)) {
      const tmp = path.join(this.dir, 'tmp', crypto.randomBytes(8).toString('hex'));
      await fsp.writeFile(tmp, data);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.rename(tmp, target);
    }
    return { hash, size: data.length };
  }

  /** Streams a source into the store without holding it in memory. */
  async putStream(source: Readable): Promise<{ hash: string; size: number }> {
    const tmp = path.join(this.dir, 'tmp', crypto.randomBytes(8).toString('hex'));
    const digest = crypto.createHash('sha256');
    let size = 0;
    source.on('data', (chunk: Buffer) => {
      digest.update(chunk);
      size += chunk.length;
    });
    await pipeline(source, fs.createWriteStream(tmp));
    const hash = digest.digest('hex');
    const target = this.pathOf(hash);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.rename(tmp, target);
    return { hash, size };
  }

  read(hash: string): Buffer {
    return fs.readFileSync(this.pathOf(hash));
  }

  stream(hash: string, start?: number, end?: number): fs.ReadStream {
    return fs.createReadStream(this.pathOf(hash), { start, end });
  }
}
