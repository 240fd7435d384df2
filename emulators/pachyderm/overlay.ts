// The pending changes of an open commit (or of one ModifyFile call) on top of its base file table.
// Deletes are recorded with a sequence number instead of scanning the puts they hide, so a client
// that sends "delete then add" for each of a million files (as pachyderm_sdk does) stays linear.
import type { FileEntry } from './file-index';

export type OverlayOp = { op: 'put'; entry: FileEntry } | { op: 'del'; path: string };

/** Directory paths above `p` (`/a/b/c` -> `/`, `/a`, `/a/b`). */
function ancestorPaths(p: string): string[] {
  const out = ['/'];
  let i = p.indexOf('/', 1);
  while (i >= 0) {
    out.push(p.slice(0, i));
    i = p.indexOf('/', i + 1);
  }
  return out;
}

export class Overlay {
  private seq = 0;
  private readonly puts = new Map<string, { entry: FileEntry; seq: number }>();
  /** Deleted paths (a file, or a directory and everything below it) and when they were deleted. */
  private readonly deletes = new Map<string, number>();
  /** Bumped on every change, so cached materialized views know they are stale. */
  version = 0;

  apply(op: OverlayOp): void {
    const seq = ++this.seq;
    this.version++;
    if (op.op === 'put') {
      this.puts.set(op.entry.key, { entry: op.entry, seq });
      return;
    }
    this.puts.delete(op.path);
    if (op.path === '/') {
      this.puts.clear();
      this.deletes.clear();
    }
    this.deletes.set(op.path, seq);
  }

  get isEmpty(): boolean {
    return this.puts.size === 0 && this.deletes.size === 0;
  }

  /** Sequence number of the latest delete covering `p` (itself or an ancestor), or 0. */
  private deletedAt(p: string): number {
    if (this.deletes.size === 0) return 0;
    let latest = this.deletes.get(p) ?? 0;
    for (const a of ancestorPaths(p)) latest = Math.max(latest, this.deletes.get(a) ?? 0);
    return latest;
  }

  /** What this overlay says about a file path: its entry, `deleted`, or nothing (look below). */
  lookup(p: string): FileEntry | 'deleted' | undefined {
    const put = this.puts.get(p);
    const deleted = this.deletedAt(p);
    if (put && put.seq > deleted) return put.entry;
    return deleted > 0 ? 'deleted' : undefined;
  }

  /** True if a file of the base table is replaced or deleted by this overlay. */
  hidesBase(p: string): boolean {
    return this.puts.has(p) || this.deletedAt(p) > 0;
  }

  /** The files this overlay adds, sorted by path. */
  sortedPuts(): FileEntry[] {
    const out: FileEntry[] = [];
    for (const [key, put] of this.puts) if (put.seq > this.deletedAt(key)) out.push(put.entry);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
