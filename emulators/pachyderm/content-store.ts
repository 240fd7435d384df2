// File content on disk. Every file is addressed by the sha256 of its content (its PFS hash):
// large files are content-addressed blobs (stored once however many commits hold them); small
// files are appended to pack files, so a commit of a million small files is a few sequential
// writes, not a million inodes. Uploads stream through here chunk by chunk: memory stays flat.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { BlobStore } from '../common/state';

/** Files up to this size go to pack files, larger ones to the blob store. */
export const SMALL_FILE_LIMIT = 64 * 1024;

export interface StoredContent {
  hash: string;
  size: number;
  loc: string;
}

/** An empty stream's location (no bytes anywhere). */
const EMPTY_LOC = 'e';

export class ContentStore {
  readonly blobs: BlobStore;
  private readonly packDir: string;
  private readonly tmpDir: string;

  constructor(stateDir: string) {
    this.blobs = new BlobStore(path.join(stateDir, 'blobs'));
    this.packDir = path.join(stateDir, 'packs');
    this.tmpDir = path.join(stateDir, 'blobs', 'tmp');
    fs.mkdirSync(this.packDir, { recursive: true });
  }

  /** A pack for the small files of one upload (one ModifyFile call). */
  newPack(): PackWriter {
    return new PackWriter(path.join(this.packDir, `${Date.now().toString(36)}-${crypto.randomBytes(6).toString('hex')}.pack`));
  }

  newWriter(pack: PackWriter): ContentWriter {
    return new ContentWriter(this, pack, this.tmpDir);
  }

  /** Streams stored content from `offset`. */
  read(content: StoredContent, offset = 0): Readable | null {
    if (offset >= content.size || content.loc === EMPTY_LOC) return null;
    if (content.loc === 'b') return fs.createReadStream(this.blobs.pathOf(content.hash), { start: offset });
    const m = /^p:([^:]+):(\d+)$/.exec(content.loc);
    if (!m) throw new Error(`unknown content location ${content.loc}`);
    const base = Number(m[2]);
    return fs.createReadStream(path.join(this.packDir, m[1]), { start: base + offset, end: base + content.size - 1 });
  }

  /** Moves a finished large temp file into the blob store under its hash. */
  async adoptBlob(tmp: string, hash: string): Promise<void> {
    const target = this.blobs.pathOf(hash);
    if (fs.existsSync(target)) {
      await fsp.rm(tmp, { force: true });
      return;
    }
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.rename(tmp, target);
  }
}

/** Appends small contents to one pack file; `close` makes them durable. */
export class PackWriter {
  private fd = -1;
  private position = 0;

  constructor(readonly file: string) {}

  append(data: Buffer): string {
    if (this.fd < 0) this.fd = fs.openSync(this.file, 'a');
    const at = this.position;
    let written = 0;
    while (written < data.length) written += fs.writeSync(this.fd, data, written, data.length - written);
    this.position += data.length;
    return `p:${path.basename(this.file)}:${at}`;
  }

  close(): void {
    if (this.fd < 0) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Receives one file's bytes: kept in memory while small, spilled to a temp file once large. */
export class ContentWriter {
  private readonly hasher = crypto.createHash('sha256');
  private size = 0;
  private memory: Buffer[] = [];
  private tmp: string | null = null;
  private file: fsp.FileHandle | null = null;

  constructor(
    private readonly store: ContentStore,
    private readonly pack: PackWriter,
    private readonly tmpDir: string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.hasher.update(chunk);
    this.size += chunk.length;
    if (!this.file && this.size <= SMALL_FILE_LIMIT) {
      this.memory.push(chunk);
      return;
    }
    if (!this.file) {
      this.tmp = path.join(this.tmpDir, crypto.randomBytes(8).toString('hex'));
      this.file = await fsp.open(this.tmp, 'w');
      for (const m of this.memory) await this.file.write(m);
      this.memory = [];
    }
    await this.file.write(chunk);
  }

  /** Copies already stored content in (for appends to an existing file). */
  async writeFrom(stream: Readable | null): Promise<void> {
    if (!stream) return;
    for await (const chunk of stream) await this.write(chunk as Buffer);
  }

  async finish(): Promise<StoredContent> {
    const hash = this.hasher.digest('hex');
    if (this.size === 0) return { hash, size: 0, loc: EMPTY_LOC };
    if (!this.file) return { hash, size: this.size, loc: this.pack.append(Buffer.concat(this.memory)) };
    await this.file.sync();
    await this.file.close();
    this.file = null;
    await this.store.adoptBlob(this.tmp as string, hash);
    return { hash, size: this.size, loc: 'b' };
  }

  async abort(): Promise<void> {
    if (this.file) await this.file.close().catch(() => undefined);
    if (this.tmp) await fsp.rm(this.tmp, { force: true });
    this.file = null;
  }
}
