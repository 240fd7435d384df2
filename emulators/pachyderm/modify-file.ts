// One ModifyFile call: a stream of setCommit / addFile / deleteFile / copyFile operations applied
// atomically when the stream ends. As in pachd, addFile appends to the path (clients overwrite by
// sending deleteFile first), so a large upload can arrive as many addFile chunks; content is
// streamed to disk as it arrives. Writing to a branch whose head is finished makes a one-off commit.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { PackWriter, ContentWriter } from './content-store';
import type { FileEntry } from './file-index';
import { Overlay, type OverlayOp } from './overlay';
import { GrpcCode, PachError, invalidArgument, notFound } from './errors';
import { cleanPath, validateFilePath } from './paths';
import { commitString, type CommitRecord, type CommitRef, type PfsStore } from './store';

export type ModifyOp =
  | { kind: 'setCommit'; ref: CommitRef }
  | { kind: 'addFile'; path: string; raw?: Buffer; url?: string }
  | { kind: 'deleteFile'; path: string }
  | { kind: 'copyFile'; dst: string; src: CommitRef; srcPath: string; append: boolean };

type Target =
  | { kind: 'open'; commit: CommitRecord }
  | { kind: 'oneOff'; project: string; repo: string; branch: string; base: CommitRecord | null };

const COMMIT_ID_RE = /^[0-9a-f]{32}$/;

export class ModifyFileSession {
  private target: Target | null = null;
  private overlay = new Overlay();
  private ops: OverlayOp[] = [];
  private current: { path: string; writer: ContentWriter } | null = null;
  private readonly pack: PackWriter;

  constructor(private readonly store: PfsStore) {
    this.pack = store.content.newPack();
  }

  async handle(op: ModifyOp): Promise<void> {
    if (op.kind === 'setCommit') {
      await this.commitTarget();
      this.target = this.resolveTarget(op.ref);
      return;
    }
    if (!this.target) throw new PachError(GrpcCode.Unknown, 'first message must be a commit'); // pachd's words and code
    if (op.kind === 'addFile') {
      const p = validateFilePath(op.path, 'addFile.path');
      if (op.url !== undefined) {
        await this.finishCurrent();
        const writer = await this.startWriter(p);
        await writer.writeFrom(await fetchUrl(op.url));
        this.current = { path: p, writer };
        await this.finishCurrent();
        return;
      }
      if (!this.current || this.current.path !== p) {
        await this.finishCurrent();
        this.current = { path: p, writer: await this.startWriter(p) };
      }
      if (op.raw) await this.current.writer.write(op.raw);
      return;
    }
    await this.finishCurrent();
    if (op.kind === 'deleteFile') {
      if (typeof op.path !== 'string') throw invalidArgument('deleteFile.path must be a string');
      this.record({ op: 'del', path: cleanPath(op.path) });
      return;
    }
    await this.copy(op);
  }

  /** Ends the call: applies everything to the target commit. */
  async finish(): Promise<void> {
    await this.commitTarget();
    this.pack.close();
  }

  async abort(): Promise<void> {
    if (this.current) await this.current.writer.abort();
    this.current = null;
    this.pack.close();
  }

  private resolveTarget(ref: CommitRef): Target {
    let branch = ref.branch ?? '';
    let id = ref.id ?? '';
    if (id && !COMMIT_ID_RE.test(id) && !branch) {
      branch = id;
      id = '';
    }
    let commit: CommitRecord;
    try {
      commit = this.store.resolveCommit(ref);
    } catch (err) {
      // A new branch: the writes become its first commit.
      if (err instanceof PachError && err.code === GrpcCode.NotFound && branch && !id && /branch/.test(err.message)) {
        return { kind: 'oneOff', project: ref.project, repo: ref.repo, branch, base: null };
      }
      throw err;
    }
    if (commit.finishing === null) return { kind: 'open', commit };
    if (id) throw new PachError(GrpcCode.Unknown, `commit ${commitString(commit)} has already finished`);
    return { kind: 'oneOff', project: ref.project, repo: ref.repo, branch, base: commit };
  }

  private record(op: OverlayOp): void {
    this.overlay.apply(op);
    this.ops.push(op);
  }

  private async existing(p: string): Promise<FileEntry | undefined> {
    const t = this.target as Target;
    const own = this.overlay.lookup(p);
    if (own === 'deleted') return undefined;
    if (own) return own;
    if (t.kind === 'open') return this.store.lookupFile(t.commit, p);
    return t.base ? this.store.lookupFile(t.base, p) : undefined;
  }

  /** A writer for `p`, starting with the file's current content (addFile appends). */
  private async startWriter(p: string): Promise<ContentWriter> {
    const writer = this.store.content.newWriter(this.pack);
    const prior = await this.existing(p);
    if (prior) await writer.writeFrom(this.store.content.read(prior));
    return writer;
  }

  private async finishCurrent(): Promise<void> {
    if (!this.current) return;
    const { path, writer } = this.current;
    this.current = null;
    const stored = await writer.finish();
    this.record({ op: 'put', entry: { key: path, dir: false, ...stored } });
  }

  private async copy(op: Extract<ModifyOp, { kind: 'copyFile' }>): Promise<void> {
    const dst = validateFilePath(op.dst, 'copyFile.dst');
    const src = this.store.resolveCommit(op.src);
    const srcPath = cleanPath(op.srcPath);
    let copied = 0;
    for await (const e of this.store.walkFile(src, srcPath)) {
      if (e.dir) continue;
      const target = e.key === srcPath ? dst : dst + e.key.slice(srcPath === '/' ? 0 : srcPath.length);
      copied++;
      const prior = op.append ? await this.existing(target) : undefined;
      if (!prior) {
        this.record({ op: 'put', entry: { ...e, key: target } });
        continue;
      }
      const writer = await this.startWriter(target);
      await writer.writeFrom(this.store.content.read(e));
      this.current = { path: target, writer };
      await this.finishCurrent();
    }
    if (copied === 0) throw notFound(`file ${srcPath} not found in repo ${src.project}/${src.repo} at commit ${src.id}`);
  }

  private async commitTarget(): Promise<void> {
    await this.finishCurrent();
    const t = this.target;
    if (!t) return;
    this.pack.close();
    const ops = this.ops;
    this.target = null;
    this.ops = [];
    this.overlay = new Overlay();
    if (t.kind === 'open') {
      this.store.applyOps(t.commit, ops);
      return;
    }
    const c = this.store.startCommit(t.project, t.repo, t.branch, undefined, '');
    this.store.applyOps(c, ops);
    this.store.finishCommit({ project: c.project, repo: c.repo, id: c.id }, undefined, undefined);
  }
}

/** Streams the body of an http(s) URL (addFile.url). */
function fetchUrl(url: string, redirects = 5): Promise<Readable> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(invalidArgument(`addFile.url.URL ${JSON.stringify(url)} is not a valid URL`));
  }
  const client = parsed.protocol === 'http:' ? http : parsed.protocol === 'https:' ? https : null;
  if (!client) return Promise.reject(invalidArgument(`addFile.url: unsupported URL scheme ${parsed.protocol} (the emulator fetches http and https)`));
  return new Promise((resolve, reject) => {
    client
      .get(parsed, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location && redirects > 0) {
          res.resume();
          resolve(fetchUrl(new URL(res.headers.location, parsed).toString(), redirects - 1));
        } else if (status !== 200) {
          res.resume();
          reject(new PachError(GrpcCode.Unknown, `error fetching ${url}: HTTP ${status}`));
        } else resolve(res);
      })
      .on('error', (err) => reject(new PachError(GrpcCode.Unknown, `error fetching ${url}: ${err.message}`)));
  });
}
