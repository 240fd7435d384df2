// Builds a commit's complete file table: the base table with an overlay applied, plus the
// directory entries (hash over the children, size = sum of the files below), in path order.
import crypto from 'node:crypto';
import { IndexReader, IndexWriter, mergeSorted, fromArray, removeIndex, type FileEntry } from './file-index';
import type { Overlay } from './overlay';
import { ancestorDirKeys, baseName } from './paths';

interface OpenDir {
  key: string;
  hasher: crypto.Hash;
  size: number;
}

async function* filesOf(base: IndexReader, overlay: Overlay | null): AsyncGenerator<FileEntry> {
  const puts = overlay ? overlay.sortedPuts() : [];
  async function* baseFiles(): AsyncGenerator<FileEntry> {
    for await (const e of base.entries()) {
      if (e.dir) continue; // directories are recomputed
      if (overlay && overlay.hidesBase(e.key)) continue;
      yield e;
    }
  }
  for await (const [b, p] of mergeSorted(baseFiles(), fromArray(puts))) yield (p ?? b) as FileEntry;
}

/** Writes the table to `out` atomically and returns the total size and file count. */
export async function buildIndex(base: IndexReader, overlay: Overlay | null, out: string): Promise<{ sizeBytes: number; files: number }> {
  const filesTmp = `${out}.files`;
  const files = await new IndexWriter(filesTmp).open();
  const dirs: FileEntry[] = [];
  const stack: OpenDir[] = [];

  const closeTop = () => {
    const dir = stack.pop() as OpenDir;
    const entry: FileEntry = { key: dir.key, dir: true, hash: dir.hasher.digest('hex'), size: dir.size, loc: '-' };
    dirs.push(entry);
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.hasher.update(`${baseName(dir.key)}\0D\0${entry.hash}\n`);
      parent.size += entry.size;
    }
  };

  try {
    for await (const f of filesOf(base, overlay)) {
      await files.write(f);
      const ancestors = ancestorDirKeys(f.key);
      let common = 0;
      while (common < stack.length && common < ancestors.length && stack[common].key === ancestors[common]) common++;
      while (stack.length > common) closeTop();
      for (let i = common; i < ancestors.length; i++) stack.push({ key: ancestors[i], hasher: crypto.createHash('sha256'), size: 0 });
      const top = stack[stack.length - 1];
      top.hasher.update(`${baseName(f.key)}\0F\0${f.hash}\n`);
      top.size += f.size;
    }
    while (stack.length > 0) closeTop();
    await files.close();
  } catch (err) {
    files.abort();
    throw err;
  }

  dirs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const writer = await new IndexWriter(out).open();
  try {
    for await (const [f, d] of mergeSorted(new IndexReader(filesTmp).entries(), fromArray(dirs))) {
      await writer.write((f ?? d) as FileEntry);
    }
    await writer.close();
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    removeIndex(filesTmp);
  }
  const root = dirs.length > 0 && dirs[0].key === '/' ? dirs[0] : undefined;
  return { sizeBytes: root?.size ?? 0, files: files.count };
}
