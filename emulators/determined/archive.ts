// Streams a checkpoint directory as tar, tar.gz or zip, file by file (never the whole checkpoint in memory),
// like the master's GET /checkpoints/{uuid} (core_checkpoint.go).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import yazl from 'yazl';

export type ArchiveFormat = 'tar' | 'gzip' | 'zip';

export const ARCHIVE_MIME: Record<ArchiveFormat, string> = {
  tar: 'application/x-tar',
  gzip: 'application/gzip',
  zip: 'application/zip',
};

/** The format an `Accept` header asks for; undefined for an unsupported one (the master answers 415). */
export function formatForAccept(accept: string | undefined): ArchiveFormat | undefined {
  const value = (accept ?? '').split(';')[0].trim().toLowerCase();
  if (value === '' || value === '*/*' || value === 'application/x-tar') return 'tar';
  if (value === 'application/gzip') return 'gzip';
  if (value === 'application/zip') return 'zip';
  return undefined;
}

export async function streamArchive(dir: string, files: string[], format: ArchiveFormat, out: Writable): Promise<void> {
  if (format === 'zip') {
    const zip = new yazl.ZipFile();
    for (const rel of files) {
      const full = path.join(dir, rel);
      zip.addReadStream(fs.createReadStream(full), rel, { size: fs.statSync(full).size, mtime: fs.statSync(full).mtime });
    }
    zip.end();
    await pipeline(zip.outputStream, out);
    return;
  }
  const pack = tar.pack();
  const done = format === 'gzip' ? pipeline(pack, zlib.createGzip(), out) : pipeline(pack, out);
  // Awaited below; a client that drops the download fails an entry first, and that error is the one thrown.
  done.catch(() => undefined);
  for (const rel of files) {
    const full = path.join(dir, rel);
    const stat = fs.statSync(full);
    // pipeline() listens for errors on both sides and destroys both: a dropped download never crashes the emulator.
    await pipeline(fs.createReadStream(full), pack.entry({ name: rel, size: stat.size, mode: 0o644, mtime: stat.mtime }));
  }
  pack.finalize();
  await done;
}
