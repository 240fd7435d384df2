// The core of the pachd emulator: projects, repos, branches, commits and their file tables, persisted
// in the state directory. The REST gateway and the gRPC server are thin layers over this class.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { JsonFile } from '../common/state';
import { ContentStore } from './content-store';
import { IndexReader, copyIndex, mergeSorted, removeIndex, type FileEntry } from './file-index';
import { buildIndex } from './index-builder';
import { Overlay, type OverlayOp } from './overlay';
import { GrpcCode, PachError, invalidArgument, notFound } from './errors';
import { cleanPath, dirKey, globLiteralPrefix, globMatcher, isDirectChild } from './paths';

export const DEFAULT_PROJECT = 'default';

export interface RepoRecord {
  project: string;
  name: string;
  description: string;
  created: string;
}

export interface BranchRecord {
  project: string;
  repo: string;
  name: string;
  head: string;
  createdAt: string;
  updatedAt: string;
}

export type OriginKind = 'USER' | 'AUTO';

export interface CommitRecord {
  id: string;
  project: string;
  repo: string;
  /** The branch the commit was started on (null for a commit only reachable by id). */
  branch: string | null;
  parent: string | null;
  children: string[];
  origin: OriginKind;
  description: string;
  started: string;
  finishing: string | null;
  finished: string | null;
  error: string;
  /** Total size of the files, known once the commit is finished. */
  sizeBytes: number | null;
  /** Creation order (SubscribeCommit replays in this order). */
  seq: number;
  updatedAt: string;
}

interface Meta {
  version: 1;
  seq: number;
  repos: Record<string, RepoRecord>;
  branches: Record<string, BranchRecord>;
  commits: Record<string, CommitRecord>;
}

/** A commit as requests name it: by id, by branch, or by `branch^`/`id~2` ancestry. */
export interface CommitRef {
  project: string;
  repo: string;
  id?: string;
  branch?: string;
}

export type { CommitState } from '@continuous-training/api-types/pachyderm';
import type { CommitState } from '@continuous-training/api-types/pachyderm';

export interface DiffPair {
  newEntry?: FileEntry;
  oldEntry?: FileEntry;
}

const NAME_RE = /^[a-zA-Z0-9_-]+$/;
const COMMIT_ID_RE = /^[0-9a-f]{32}$/;

/** A pachd-style commit id: a UUIDv4 without dashes. */
export function newCommitId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

export function repoString(project: string, repo: string): string {
  return `${project}/${repo}`;
}

/** How pachd 2.x prints a commit in messages: `project/repo@id` (commits have global ids, no branch). */
export function commitString(c: { project: string; repo: string; id: string }): string {
  return `${repoString(c.project, c.repo)}@${c.id}`;
}

/** pachd's timestamps are RFC 3339; the emulator keeps millisecond precision. */
function now(): string {
  return new Date().toISOString();
}

export function satisfies(c: CommitRecord, state: CommitState | undefined): boolean {
  if (state === 'FINISHED') return c.finished !== null;
  if (state === 'FINISHING') return c.finishing !== null;
  return true;
}

export interface PfsStoreOptions {
  stateDir: string;
}

export class PfsStore {
  readonly content: ContentStore;
  /** Emits `commit` with a CommitRecord whenever a commit is created or changes state. */
  readonly events = new EventEmitter();
  private readonly metaFile: JsonFile<Meta>;
  private readonly meta: Meta;
  private readonly commitsDir: string;
  private readonly overlays = new Map<string, Overlay>();
  private readonly builds = new Map<string, Promise<void>>();
  private readonly views = new Map<string, { version: number; file: Promise<string> }>();
  private closed = false;

  constructor(opts: PfsStoreOptions) {
    fs.mkdirSync(opts.stateDir, { recursive: true });
    this.content = new ContentStore(opts.stateDir);
    this.commitsDir = path.join(opts.stateDir, 'commits');
    fs.mkdirSync(this.commitsDir, { recursive: true });
    this.metaFile = new JsonFile<Meta>(path.join(opts.stateDir, 'meta.json'), () => ({
      version: 1,
      seq: 0,
      repos: {},
      branches: {},
      commits: {},
    }));
    this.meta = this.metaFile.load();
    this.events.setMaxListeners(0);
    this.recover();
  }

  /** Reloads open commits' pending changes and finishes the table of commits that were finishing. */
  private recover(): void {
    for (const c of Object.values(this.meta.commits)) {
      if (c.finishing === null) this.overlays.set(c.id, this.replayOps(c.id));
      else if (c.finished === null) {
        this.overlays.set(c.id, this.replayOps(c.id));
        this.scheduleBuild(c);
      }
    }
  }

  private replayOps(id: string): Overlay {
    const overlay = new Overlay();
    const file = this.opsFile(id);
    if (!fs.existsSync(file)) return overlay;
    const text = fs.readFileSync(file, 'utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        overlay.apply(JSON.parse(line) as OverlayOp);
      } catch {
        break; // a torn last line from a crash mid-append: the call it belonged to never returned
      }
    }
    return overlay;
  }

  close(): void {
    this.closed = true;
    this.events.emit('close');
  }

  private save(): void {
    this.metaFile.save(this.meta);
  }

  private commitDir(id: string): string {
    return path.join(this.commitsDir, id);
  }
  private indexFile(id: string): string {
    return path.join(this.commitDir(id), 'index.tsv');
  }
  private opsFile(id: string): string {
    return path.join(this.commitDir(id), 'ops.log');
  }

  // ---- repos -----------------------------------------------------------------------------

  private checkProject(project: string): void {
    if (project !== DEFAULT_PROJECT) throw notFound(`project "${project}" not found`);
  }

  repo(project: string, name: string): RepoRecord {
    this.checkProject(project);
    const r = this.meta.repos[repoString(project, name)];
    if (!r) throw notFound(`repo ${repoString(project, name)} not found`);
    return r;
  }

  createRepo(project: string, name: string, description: string, update: boolean): void {
    this.checkProject(project);
    if (!NAME_RE.test(name)) {
      // pachd answers a bad name with code Unknown (HTTP 500), not InvalidArgument.
      throw new PachError(GrpcCode.Unknown, `name (${name}) invalid: only alphanumeric characters, underscores, and dashes are allowed`);
    }
    const key = repoString(project, name);
    const existing = this.meta.repos[key];
    if (existing) {
      if (!update) throw new PachError(GrpcCode.AlreadyExists, `repo ${key} already exists`);
      existing.description = description;
    } else {
      this.meta.repos[key] = { project, name, description, created: now() };
    }
    this.save();
  }

  listRepos(projects: string[]): RepoRecord[] {
    return Object.values(this.meta.repos)
      .filter((r) => projects.length === 0 || projects.includes(r.project))
      .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  }

  branchesOf(project: string, repo: string): BranchRecord[] {
    return Object.values(this.meta.branches)
      .filter((b) => b.project === project && b.repo === repo)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  commitsOf(project: string, repo: string): CommitRecord[] {
    return Object.values(this.meta.commits)
      .filter((c) => c.project === project && c.repo === repo)
      .sort((a, b) => a.seq - b.seq);
  }

  /** Size of a repo: the size of its newest finished branch heads (an upper bound, as pachd says). */
  repoSize(project: string, repo: string): number {
    let size = 0;
    for (const b of this.branchesOf(project, repo)) size = Math.max(size, this.meta.commits[b.head]?.sizeBytes ?? 0);
    return size;
  }

  deleteRepo(project: string, name: string): boolean {
    this.checkProject(project);
    const key = repoString(project, name);
    // pachd's deleteRepo (server_repo.go): a missing repo is not an error, with or without force.
    if (!this.meta.repos[key]) return false;
    for (const c of this.commitsOf(project, name)) {
      delete this.meta.commits[c.id];
      this.overlays.delete(c.id);
      this.views.delete(c.id);
      fs.rmSync(this.commitDir(c.id), { recursive: true, force: true });
    }
    for (const b of this.branchesOf(project, name)) delete this.meta.branches[`${key}@${b.name}`];
    delete this.meta.repos[key];
    this.save();
    return true;
  }

  // ---- branches --------------------------------------------------------------------------

  branch(project: string, repo: string, name: string): BranchRecord {
    this.repo(project, repo);
    const b = this.meta.branches[`${repoString(project, repo)}@${name}`];
    if (!b) throw notFound(`branch "${name}" not found in repo ${repoString(project, repo)}`);
    return b;
  }

  private findBranch(project: string, repo: string, name: string): BranchRecord | undefined {
    return this.meta.branches[`${repoString(project, repo)}@${name}`];
  }

  private validateBranchName(name: string): void {
    if (!name) throw invalidArgument('branch must be specified');
    if (!NAME_RE.test(name)) {
      throw new PachError(GrpcCode.Unknown, `name (${name}) invalid: only alphanumeric characters, underscores, and dashes are allowed`);
    }
    if (COMMIT_ID_RE.test(name)) throw invalidArgument(`branch name (${name}) cannot be a commit id`);
  }

  private pointBranch(project: string, repo: string, name: string, head: string): void {
    const key = `${repoString(project, repo)}@${name}`;
    const existing = this.meta.branches[key];
    const t = now();
    if (existing) {
      existing.head = head;
      existing.updatedAt = t;
    } else {
      this.meta.branches[key] = { project, repo, name, head, createdAt: t, updatedAt: t };
    }
  }

  /**
   * CreateBranch: points the branch at `head`; a new branch without a head gets an empty,
   * finished commit of origin AUTO (what pachd does for input branches).
   */
  createBranch(project: string, repo: string, name: string, head: CommitRef | undefined): void {
    this.repo(project, repo);
    this.validateBranchName(name);
    if (head) {
      const c = this.resolveCommit(head);
      if (c.project !== project || c.repo !== repo) throw invalidArgument('branch and head commit must belong to the same repo');
      this.pointBranch(project, repo, name, c.id);
    } else if (!this.findBranch(project, repo, name)) {
      const c = this.addCommit(project, repo, name, null, 'AUTO', '');
      c.finishing = c.started;
      c.finished = c.started;
      c.sizeBytes = 0;
      this.pointBranch(project, repo, name, c.id);
      this.overlays.delete(c.id);
    }
    this.save();
  }

  deleteBranch(project: string, repo: string, name: string, force: boolean): void {
    if (!this.findBranch(project, repo, name)) {
      if (force) return;
      this.branch(project, repo, name);
    }
    delete this.meta.branches[`${repoString(project, repo)}@${name}`];
    this.save();
  }

  // ---- commits ---------------------------------------------------------------------------

  commitById(id: string): CommitRecord | undefined {
    return this.meta.commits[id];
  }

  /** Resolves a request's commit reference the way pachd does (id, branch head, `^`/`~N` ancestry). */
  resolveCommit(ref: CommitRef): CommitRecord {
    this.repo(ref.project, ref.repo);
    let id = ref.id ?? '';
    let branch = ref.branch ?? '';
    let back = 0;
    const anc = /^(.*?)((?:\^+|~\d+|\^\d+)*)$/.exec(id);
    if (anc && anc[2]) {
      id = anc[1];
      for (const m of anc[2].matchAll(/\^(\d+)|~(\d+)|\^/g)) back += m[1] ? Number(m[1]) : m[2] ? Number(m[2]) : 1;
    }
    if (id && !COMMIT_ID_RE.test(id) && !branch) {
      branch = id; // `repo@master` arrives as a commit whose id is the branch name
      id = '';
    }
    let commit: CommitRecord | undefined;
    const display = { project: ref.project, repo: ref.repo, branch: branch || null, id: ref.id ?? '' };
    if (id) {
      commit = this.meta.commits[id];
      if (!commit || commit.project !== ref.project || commit.repo !== ref.repo) {
        throw notFound(`commit ${commitString(display)} not found`);
      }
    } else if (branch) {
      commit = this.meta.commits[this.branch(ref.project, ref.repo, branch).head];
    } else {
      throw invalidArgument('commit must specify an id or a branch');
    }
    for (let i = 0; i < back; i++) {
      if (!commit.parent) throw notFound(`commit ${commitString(display)} not found`);
      commit = this.meta.commits[commit.parent];
    }
    return commit;
  }

  private addCommit(project: string, repo: string, branch: string | null, parent: string | null, origin: OriginKind, description: string): CommitRecord {
    const t = now();
    const c: CommitRecord = {
      id: newCommitId(),
      project,
      repo,
      branch,
      parent,
      children: [],
      origin,
      description,
      started: t,
      finishing: null,
      finished: null,
      error: '',
      sizeBytes: null,
      seq: ++this.meta.seq,
      updatedAt: t,
    };
    this.meta.commits[c.id] = c;
    if (parent) this.meta.commits[parent].children.push(c.id);
    this.overlays.set(c.id, new Overlay());
    fs.mkdirSync(this.commitDir(c.id), { recursive: true });
    return c;
  }

  /** StartCommit: the parent (given, else the branch head) must be finishing or finished. */
  startCommit(project: string, repo: string, branch: string, parentRef: CommitRef | undefined, description: string): CommitRecord {
    this.repo(project, repo);
    this.validateBranchName(branch);
    let parent: CommitRecord | undefined;
    if (parentRef) {
      try {
        parent = this.resolveCommit(parentRef);
      } catch (err) {
        if (err instanceof PachError) throw new PachError(err.code, `parent commit not found: ${err.message}`);
        throw err;
      }
    } else {
      const b = this.findBranch(project, repo, branch);
      if (b) parent = this.meta.commits[b.head];
    }
    if (parent && parent.finishing === null) {
      // pachd's linkParent returns a plain error here, which reaches clients as code Unknown.
      throw new PachError(GrpcCode.Unknown, `start commit in transaction: create commit: parent commit ${commitString(parent)} has not been finished`);
    }
    const c = this.addCommit(project, repo, branch, parent?.id ?? null, 'USER', description);
    this.pointBranch(project, repo, branch, c.id);
    this.save();
    this.events.emit('commit', c);
    return c;
  }

  finishCommit(ref: CommitRef, description: string | undefined, error: string | undefined): CommitRecord {
    const c = this.resolveCommit(ref);
    if (c.finishing !== null) throw new PachError(GrpcCode.Unknown, `commit ${commitString(c)} has already finished`);
    const t = now();
    c.finishing = t;
    c.updatedAt = t;
    if (description) c.description = description;
    if (error) c.error = error;
    this.save();
    this.events.emit('commit', c);
    this.scheduleBuild(c);
    return c;
  }

  /** The nearest ancestor whose files a child builds on (errored commits are skipped, as in pachd). */
  private baseOf(c: CommitRecord): CommitRecord | undefined {
    let p = c.parent ? this.meta.commits[c.parent] : undefined;
    while (p && p.error) p = p.parent ? this.meta.commits[p.parent] : undefined;
    return p;
  }

  private async baseReader(c: CommitRecord): Promise<IndexReader> {
    const base = this.baseOf(c);
    if (!base) return new IndexReader(null);
    await this.waitBuilt(base);
    return new IndexReader(this.indexFile(base.id));
  }

  private async waitBuilt(c: CommitRecord): Promise<void> {
    if (c.finished !== null) return;
    const build = this.builds.get(c.id);
    if (build) await build;
    else if (c.finishing === null) throw new Error(`commit ${commitString(c)} is still open`);
  }

  /** Builds the file table of a finishing commit in the background, then marks it finished. */
  private scheduleBuild(c: CommitRecord): void {
    const build = (async () => {
      const base = this.baseOf(c);
      if (base) await this.waitBuilt(base);
      const overlay = this.overlays.get(c.id);
      const out = this.indexFile(c.id);
      fs.mkdirSync(this.commitDir(c.id), { recursive: true });
      let sizeBytes: number;
      if (base && (!overlay || overlay.isEmpty)) {
        copyIndex(this.indexFile(base.id), out);
        sizeBytes = base.sizeBytes ?? 0;
      } else {
        sizeBytes = (await buildIndex(new IndexReader(base ? this.indexFile(base.id) : null), overlay ?? null, out)).sizeBytes;
      }
      if (this.closed || !this.meta.commits[c.id]) return;
      const t = now();
      c.finished = t;
      c.updatedAt = t;
      c.sizeBytes = sizeBytes;
      this.save();
      this.overlays.delete(c.id);
      this.dropViews(c.id);
      fs.rmSync(this.opsFile(c.id), { force: true });
      this.events.emit('commit', c);
    })();
    this.builds.set(c.id, build);
    build
      .catch((err: unknown) => {
        if (!this.closed) process.emitWarning(`pachd emulator: building the file table of ${c.id} failed: ${String(err)}`);
      })
      .finally(() => this.builds.delete(c.id));
  }

  /** Waits until the commit reaches `state` (FINISHING/FINISHED); `signal` stops waiting. */
  async waitForState(c: CommitRecord, state: CommitState | undefined, signal?: AbortSignal): Promise<CommitRecord> {
    if (satisfies(c, state)) return c;
    return new Promise<CommitRecord>((resolve, reject) => {
      const onCommit = (u: CommitRecord) => {
        if (u.id === c.id && satisfies(u, state)) {
          cleanup();
          resolve(u);
        }
      };
      const onAbort = () => {
        cleanup();
        reject(new PachError(GrpcCode.Canceled, 'context canceled'));
      };
      const cleanup = () => {
        this.events.off('commit', onCommit);
        this.events.off('close', onAbort);
        signal?.removeEventListener('abort', onAbort);
      };
      this.events.on('commit', onCommit);
      this.events.on('close', onAbort);
      signal?.addEventListener('abort', onAbort);
    });
  }

  /**
   * SubscribeCommit: replays the branch's commits in creation order, then streams new ones; with a
   * state, each commit is held back until it reaches it; `from` suppresses only that commit.
   * Returns an unsubscribe function.
   */
  subscribe(
    project: string,
    repo: string,
    branch: string,
    fromId: string | undefined,
    state: CommitState | undefined,
    onCommit: (c: CommitRecord) => void,
  ): () => void {
    this.repo(project, repo);
    const sent = new Set<string>(fromId ? [fromId] : []);
    const consider = (c: CommitRecord) => {
      if (c.project !== project || c.repo !== repo || (branch && c.branch !== branch)) return;
      if (sent.has(c.id) || !satisfies(c, state)) return;
      sent.add(c.id);
      onCommit(c);
    };
    this.events.on('commit', consider);
    for (const c of this.commitsOf(project, repo)) consider(c);
    return () => this.events.off('commit', consider);
  }

  /** ListCommit: newest first (or oldest first with `reverse`), optionally between `from` and `to`. */
  listCommits(project: string, repo: string, opts: { from?: CommitRef; to?: CommitRef; number?: number; reverse?: boolean }): CommitRecord[] {
    this.repo(project, repo);
    let list: CommitRecord[];
    if (opts.to) {
      const fromId = opts.from ? this.resolveCommit(opts.from).id : undefined;
      list = [];
      let c: CommitRecord | undefined = this.resolveCommit(opts.to);
      while (c && c.id !== fromId) {
        list.push(c);
        c = c.parent ? this.meta.commits[c.parent] : undefined;
      }
    } else {
      list = this.commitsOf(project, repo).reverse();
      if (opts.from) {
        const from = this.resolveCommit(opts.from);
        list = list.filter((c) => c.seq > from.seq);
      }
    }
    if (opts.reverse) list.reverse();
    if (opts.number && opts.number > 0) list = list.slice(0, opts.number);
    return list;
  }

  // ---- file tables -----------------------------------------------------------------------

  /** The pending changes of an open commit (for ModifyFile). */
  overlayOf(c: CommitRecord): Overlay {
    const o = this.overlays.get(c.id);
    if (!o || c.finishing !== null) throw new PachError(GrpcCode.Unknown, `commit ${commitString(c)} has already finished`);
    return o;
  }

  /** Applies a ModifyFile call's operations to an open commit, durably, all or nothing. */
  applyOps(c: CommitRecord, ops: OverlayOp[]): void {
    const overlay = this.overlayOf(c);
    if (ops.length === 0) return;
    const fd = fs.openSync(this.opsFile(c.id), 'a');
    try {
      const BATCH = 10_000;
      for (let i = 0; i < ops.length; i += BATCH) {
        fs.writeSync(fd, ops.slice(i, i + BATCH).map((op) => JSON.stringify(op) + '\n').join(''));
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    for (const op of ops) overlay.apply(op);
    c.updatedAt = now();
  }

  private dropViews(id: string): void {
    const v = this.views.get(id);
    this.views.delete(id);
    if (v) void v.file.then((f) => f !== this.indexFile(id) && removeIndex(f)).catch(() => undefined);
  }

  /** A reader of the commit's complete file table (an open commit's is materialized and cached). */
  async view(c: CommitRecord): Promise<IndexReader> {
    if (c.finished !== null) return new IndexReader(this.indexFile(c.id));
    if (c.finishing !== null) {
      await this.waitBuilt(c);
      return new IndexReader(this.indexFile(c.id));
    }
    const overlay = this.overlayOf(c);
    if (overlay.isEmpty) return this.baseReader(c);
    const cached = this.views.get(c.id);
    if (cached && cached.version === overlay.version) return new IndexReader(await cached.file);
    this.dropViews(c.id);
    const version = overlay.version;
    const file = path.join(this.commitDir(c.id), `view-${version}.tsv`);
    const promise = (async () => {
      await buildIndex(await this.baseReader(c), overlay, file);
      return file;
    })();
    this.views.set(c.id, { version, file: promise });
    return new IndexReader(await promise);
  }

  /** The entry of a file path in a commit, looking through a ModifyFile call's own pending changes. */
  async lookupFile(c: CommitRecord, p: string, session?: Overlay): Promise<FileEntry | undefined> {
    for (const overlay of [session, c.finishing === null ? this.overlays.get(c.id) : undefined]) {
      const hit = overlay?.lookup(p);
      if (hit === 'deleted') return undefined;
      if (hit) return hit;
    }
    const reader = c.finishing === null ? await this.baseReader(c) : await this.view(c);
    return reader.lookup(p);
  }

  private fileNotFound(c: CommitRecord, p: string): PachError {
    return notFound(`file ${p} not found in repo ${repoString(c.project, c.repo)} at commit ${c.id}`);
  }

  async inspectFile(c: CommitRecord, rawPath: string): Promise<FileEntry> {
    const p = cleanPath(rawPath);
    const reader = await this.view(c);
    const hit = (p !== '/' && (await reader.lookup(p))) || (await reader.lookup(dirKey(p)));
    if (!hit) throw this.fileNotFound(c, p);
    return hit;
  }

  /** ListFile: a file itself, or the direct children of a directory. */
  async *listFile(c: CommitRecord, rawPath: string): AsyncGenerator<FileEntry> {
    const p = cleanPath(rawPath);
    const reader = await this.view(c);
    for await (const e of reader.under(p)) {
      if (e.key === p && !e.dir) yield e;
      else if (isDirectChild(e.key, p)) yield e;
    }
  }

  /** WalkFile: the path and everything below it. */
  async *walkFile(c: CommitRecord, rawPath: string): AsyncGenerator<FileEntry> {
    const reader = await this.view(c);
    yield* reader.under(cleanPath(rawPath));
  }

  /** GlobFile: files and directories whose path matches the pattern. */
  async *globFile(c: CommitRecord, pattern: string): AsyncGenerator<FileEntry> {
    const match = globMatcher(pattern);
    const prefix = globLiteralPrefix(pattern);
    const reader = await this.view(c);
    for await (const e of reader.entries(prefix)) {
      if (!e.key.startsWith(prefix)) return;
      if (match(e.key)) yield e;
    }
  }

  /** GetFile's target: exactly one regular file (a glob may name it), else pachd's errors. */
  async fileForRead(c: CommitRecord, rawPath: string): Promise<FileEntry> {
    const p = cleanPath(rawPath);
    const matches: FileEntry[] = [];
    if (/[*?[{]/.test(p)) {
      for await (const e of this.globFile(c, p)) {
        matches.push(e);
        if (matches.length > 1) break;
      }
    } else {
      const reader = await this.view(c);
      const hit = (p !== '/' && (await reader.lookup(p))) || (await reader.lookup(dirKey(p)));
      if (hit) matches.push(hit);
    }
    if (matches.length === 0) throw this.fileNotFound(c, p);
    if (matches.length > 1) throw new PachError(GrpcCode.Unknown, 'matched multiple files. Use GetFileTAR instead');
    if (matches[0].dir) throw new PachError(GrpcCode.Unknown, 'cannot get directory or non-regular file. Use GetFileTAR instead');
    return matches[0];
  }

  /**
   * DiffFile: streams the paths under `newPath` that differ from `oldPath` in the old commit (the
   * new commit's parent when no old commit is given), in path order; `shallow` keeps the path
   * itself and its direct children only.
   */
  async *diffFile(newCommit: CommitRecord, newPath: string, old: { commit: CommitRecord | null; path: string } | null, shallow: boolean): AsyncGenerator<DiffPair> {
    const np = cleanPath(newPath);
    const oldCommit = old ? old.commit : newCommit.parent ? (this.meta.commits[newCommit.parent] ?? null) : null;
    const op = cleanPath(old ? old.path : newPath);
    const newReader = await this.view(newCommit);
    const oldReader = oldCommit ? await this.view(oldCommit) : new IndexReader(null);
    // pachd compares absolute paths, as its Differ does, and compares content by hash only.
    async function* side(reader: IndexReader, root: string): AsyncGenerator<FileEntry> {
      for await (const e of reader.under(root)) {
        if (shallow && e.key !== root && e.key !== dirKey(root) && !isDirectChild(e.key, root)) continue;
        yield e;
      }
    }
    for await (const [o, n] of mergeSorted(side(oldReader, op), side(newReader, np))) {
      if (o && n) {
        if (o.hash !== n.hash) yield { newEntry: n, oldEntry: o };
      } else if (n) yield { newEntry: n };
      else if (o) yield { oldEntry: o };
    }
  }
}
