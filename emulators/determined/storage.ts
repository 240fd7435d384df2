// Checkpoint storage: where an experiment's `checkpoint_storage` puts checkpoint files, always inside
// the state directory (absolute paths of the config are re-rooted under `<stateDir>/fs/`).
import fs from 'node:fs';
import path from 'node:path';

export interface StorageLocation {
  /** Absolute directory that holds `<uuid>/` folders. */
  root: string;
  type: string;
}

/** Maps a path from the config under `<stateDir>/fs`, refusing `..` escapes. */
function underStateDir(stateDir: string, ...parts: (string | null | undefined)[]): string {
  const joined = path.posix.join('/', ...parts.filter((p): p is string => !!p));
  const normalized = path.posix.normalize(joined);
  return path.join(stateDir, 'fs', ...normalized.split('/').filter(Boolean));
}

export function storageLocation(stateDir: string, storage: Record<string, unknown> | null | undefined): StorageLocation {
  if (!storage || typeof storage.type !== 'string') return { root: path.join(stateDir, 'checkpoints'), type: 'shared_fs' };
  const str = (k: string) => (typeof storage[k] === 'string' ? (storage[k] as string) : undefined);
  switch (storage.type) {
    case 'shared_fs': {
      const storagePath = str('storage_path');
      // storage_path is either relative to host_path or a subdirectory of it (the schema checks that).
      const sub = storagePath && path.posix.isAbsolute(storagePath) ? path.posix.relative(str('host_path') ?? '/', storagePath) : storagePath;
      return { root: underStateDir(stateDir, str('host_path'), sub), type: 'shared_fs' };
    }
    case 'directory':
      return { root: underStateDir(stateDir, str('container_path')), type: 'directory' };
    case 's3':
    case 'gcs':
      return { root: underStateDir(stateDir, storage.type, str('bucket'), str('prefix')), type: storage.type };
    case 'azure':
      return { root: underStateDir(stateDir, 'azure', str('container')), type: 'azure' };
    default:
      return { root: path.join(stateDir, 'checkpoints'), type: String(storage.type) };
  }
}

/** Every regular file under `dir`, as relative posix path → size. */
export function listResources(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out[child] = fs.statSync(path.join(dir, child)).size;
    }
  };
  if (fs.existsSync(dir)) walk('');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Moves (or copies, across file systems) a finished checkpoint directory into storage. */
export function moveIntoStorage(source: string, target: string): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    fs.renameSync(source, target);
  } catch {
    fs.cpSync(source, target, { recursive: true });
    fs.rmSync(source, { recursive: true, force: true });
  }
}

/** Writes `sizeBytes` of incompressible-looking bytes without holding them in memory. */
export async function writeSizedFile(file: string, sizeBytes: number, seed: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const block = Buffer.alloc(1024 * 1024);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  const out = fs.createWriteStream(file);
  let left = sizeBytes;
  while (left > 0) {
    const n = Math.min(left, block.length);
    if (!out.write(n === block.length ? block : block.subarray(0, n))) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= n;
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
