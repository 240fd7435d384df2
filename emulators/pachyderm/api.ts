// pfs_v2.API and auth_v2.API methods over protojson-shaped messages: the one implementation behind
// the REST gateway (and the gRPC server). Requests are checked against the spec before use.
import { GrpcCode, PachError, invalidArgument } from './errors';
import { PachAuth, resourceFrom, type Caller, type Permission } from './auth';
import type { ModifyOp } from './modify-file';
import { ModifyFileSession } from './modify-file';
import { pachydermContract } from './contract';
import {
  branchFrom,
  branchInfoJson,
  bytesFrom,
  commitInfoJson,
  type CreatedBy,
  commitJson,
  commitRefFrom,
  commitStateFrom,
  fileFrom,
  fileInfoJson,
  int64From,
  repoFrom,
  repoInfoJson,
  type Json,
} from './protojson';
import type { CommitRecord, PfsStore } from './store';

export interface CallContext {
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Who is calling (the transport authenticated the token); undefined when auth is off. */
  caller?: Caller;
}

/** Sends one stream message; Buffers are GetFile's BytesValue chunks. `flush` for live streams. */
export type Send = (msg: Json | Buffer, flush?: boolean) => Promise<void>;
export type UnaryMethod = (req: Json, ctx: CallContext) => Promise<Json>;
export type StreamMethod = (req: Json, ctx: CallContext, send: Send) => Promise<void>;

const GET_FILE_CHUNK = 1024 * 1024;

function checkRequest(method: string, req: Json): void {
  const errors = pachydermContract({ lenient: true })
    .request(method, req)
    .filter((e) => !/must be null|must match a schema in anyOf/.test(e));
  if (errors.length) throw invalidArgument(`invalid ${method} request: ${errors.slice(0, 3).join('; ')}`);
}

function obj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

export class PfsApi {
  readonly unary: Record<string, UnaryMethod>;
  readonly streams: Record<string, StreamMethod>;

  private readonly createdBy: CreatedBy;

  constructor(
    private readonly store: PfsStore,
    readonly auth: PachAuth,
  ) {
    this.createdBy = auth.enabled ? 'pach:root' : '';
    const s = store;
    this.unary = {
      'pfs_v2.API/CreateRepo': async (req, ctx) => {
        const { project, repo } = repoFrom(req.repo, 'repo');
        const exists = this.repoExists(project, repo);
        // createRepo: PROJECT_CREATE_REPO (every user has it on the default project), then REPO_WRITE to update one.
        auth.authorize(ctx.caller, { type: 'PROJECT', name: project }, ['PROJECT_CREATE_REPO']);
        if (exists && req.update === true) auth.authorize(ctx.caller, repoResource(project, repo), ['REPO_WRITE']);
        s.createRepo(project, repo, typeof req.description === 'string' ? req.description : '', req.update === true);
        if (!exists) auth.repoCreated(ctx.caller, project, repo);
        return {};
      },
      'pfs_v2.API/InspectRepo': async (req) => {
        const { project, repo } = repoFrom(req.repo, 'repo');
        return repoInfoJson(s.repo(project, repo), s.branchesOf(project, repo), s.repoSize(project, repo), true);
      },
      'pfs_v2.API/DeleteRepo': async (req) => {
        const { project, repo } = repoFrom(req.repo, 'repo');
        // `force` only matters for repos with provenance, which the emulator has none of.
        const deleted = s.deleteRepo(project, repo);
        if (deleted) auth.repoDeleted(project, repo);
        return { deleted };
      },
      'pfs_v2.API/CreateBranch': async (req) => {
        const b = branchFrom(req.branch, 'branch');
        const head = obj(req.head) ? commitRefFrom(req.head, 'head') : undefined;
        if (Array.isArray(req.provenance) && req.provenance.length > 0) {
          throw new PachError(GrpcCode.Unimplemented, 'branch provenance is not emulated');
        }
        s.createBranch(b.project, b.repo, b.name, head);
        return {};
      },
      'pfs_v2.API/InspectBranch': async (req) => {
        const b = branchFrom(req.branch, 'branch');
        const rec = s.branch(b.project, b.repo, b.name);
        return branchInfoJson(rec, s.commitById(rec.head) as CommitRecord, this.createdBy);
      },
      'pfs_v2.API/DeleteBranch': async (req) => {
        const b = branchFrom(req.branch, 'branch');
        s.deleteBranch(b.project, b.repo, b.name, req.force === true);
        return {};
      },
      'pfs_v2.API/StartCommit': async (req) => {
        const b = branchFrom(req.branch, 'branch');
        const parent = obj(req.parent) ? commitRefFrom(req.parent, 'parent') : undefined;
        const c = s.startCommit(b.project, b.repo, b.name, parent, typeof req.description === 'string' ? req.description : '');
        return commitJson(c);
      },
      'pfs_v2.API/FinishCommit': async (req) => {
        const ref = commitRefFrom(req.commit, 'commit');
        s.finishCommit(ref, req.description as string | undefined, req.error as string | undefined);
        return {};
      },
      'pfs_v2.API/InspectCommit': async (req, ctx) => {
        const c = await s.waitForState(s.resolveCommit(commitRefFrom(req.commit, 'commit')), commitStateFrom(req.wait, 'wait'), ctx.signal);
        return this.commitInfo(c);
      },
      'pfs_v2.API/InspectFile': async (req) => {
        const f = fileFrom(req.file, 'file');
        const c = s.resolveCommit(f.ref);
        return fileInfoJson(c, await s.inspectFile(c, f.path));
      },
      'auth_v2.API/WhoAmI': async (_req, ctx) => auth.whoAmI(ctx.caller),
      'auth_v2.API/GetRobotToken': async (req, ctx) => ({
        token: auth.getRobotToken(ctx.caller, typeof req.robot === 'string' ? req.robot : '', int64From(req.ttl, 'ttl')),
      }),
      'auth_v2.API/ModifyRoleBinding': async (req, ctx) => {
        const resource = resourceFrom(req.resource, 'ModifyRoleBindingRequest.Resource');
        const roles = Array.isArray(req.roles) ? req.roles.map(String) : [];
        const [project, repo] = resource.name.split('/');
        const exists = resource.type === 'REPO' && !!project && !!repo && this.repoExists(project, repo);
        auth.modifyRoleBinding(ctx.caller, resource, typeof req.principal === 'string' ? req.principal : '', roles, exists);
        return {};
      },
      'auth_v2.API/GetRoleBinding': async (req, ctx) => {
        const entries = auth.getRoleBinding(ctx.caller, resourceFrom(req.resource, 'GetRoleBindingRequest.Resource'));
        return {
          binding: { entries: Object.fromEntries(Object.entries(entries).map(([p, roles]) => [p, { roles: Object.fromEntries(roles.map((r) => [r, true])) }])) },
        };
      },
    };

    this.streams = {
      'pfs_v2.API/ListRepo': async (req, _ctx, send) => {
        if (req.type && req.type !== 'user') return;
        const projects = Array.isArray(req.projects) ? req.projects.map((p) => String(obj(p)?.name ?? '')) : [];
        for (const r of s.listRepos(projects)) await send(repoInfoJson(r, s.branchesOf(r.project, r.name), s.repoSize(r.project, r.name), false));
      },
      'pfs_v2.API/ListBranch': async (req, _ctx, send) => {
        const { project, repo } = repoFrom(req.repo, 'repo');
        s.repo(project, repo);
        const list = s.branchesOf(project, repo);
        if (req.reverse === true) list.reverse();
        for (const b of list) await send(branchInfoJson(b, s.commitById(b.head) as CommitRecord, this.createdBy));
      },
      'pfs_v2.API/ListCommit': async (req, _ctx, send) => {
        const { project, repo } = repoFrom(req.repo, 'repo');
        const list = s.listCommits(project, repo, {
          from: obj(req.from) ? commitRefFrom(req.from, 'from') : undefined,
          to: obj(req.to) ? commitRefFrom(req.to, 'to') : undefined,
          number: int64From(req.number, 'number'),
          reverse: req.reverse === true,
        });
        for (const c of list) await send(this.commitInfo(c));
      },
      'pfs_v2.API/SubscribeCommit': async (req, ctx, send) => {
        const { project, repo } = repoFrom(req.repo, 'repo');
        const branch = typeof req.branch === 'string' ? req.branch : '';
        const from = obj(req.from);
        const fromId = from && typeof from.id === 'string' ? from.id : undefined;
        const state = commitStateFrom(req.state, 'state');
        // Commits are queued and sent in order; the stream lasts until the client leaves.
        const queue: CommitRecord[] = [];
        let wake: (() => void) | null = null;
        const unsubscribe = s.subscribe(project, repo, branch, fromId, state, (c) => {
          queue.push(c);
          wake?.();
        });
        const stopped = new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          ctx.signal.addEventListener('abort', () => resolve());
          s.events.once('close', () => resolve());
        });
        let done = false;
        void stopped.then(() => {
          done = true;
          wake?.();
        });
        try {
          while (!done) {
            while (queue.length > 0 && !done) await send(this.commitInfo(queue.shift() as CommitRecord), true);
            if (done) break;
            await new Promise<void>((resolve) => (wake = resolve));
            wake = null;
          }
        } finally {
          unsubscribe();
        }
      },
      'pfs_v2.API/GetFile': async (req, _ctx, send) => {
        if (req.URL) throw new PachError(GrpcCode.Unimplemented, 'GetFile to a URL is not emulated');
        const f = fileFrom(req.file, 'file');
        const c = s.resolveCommit(f.ref);
        const entry = await s.fileForRead(c, f.path);
        const stream = s.content.read(entry, int64From(req.offset, 'offset'));
        if (!stream) return;
        let pending: Buffer[] = [];
        let size = 0;
        for await (const chunk of stream) {
          pending.push(chunk as Buffer);
          size += (chunk as Buffer).length;
          if (size >= GET_FILE_CHUNK) {
            await send(Buffer.concat(pending, size));
            pending = [];
            size = 0;
          }
        }
        if (size > 0) await send(Buffer.concat(pending, size));
      },
      'pfs_v2.API/ListFile': async (req, _ctx, send) => {
        const f = fileFrom(req.file, 'file');
        const c = s.resolveCommit(f.ref);
        const number = int64From(req.number, 'number');
        const marker = obj(req.paginationMarker) ? String(obj(req.paginationMarker)?.path ?? '') : undefined;
        if (req.reverse === true && number === 0) throw new PachError(GrpcCode.Unknown, 'number must be > 0 when reverse is true');
        const all: Json[] = [];
        let sent = 0;
        for await (const e of s.listFile(c, f.path)) {
          if (marker !== undefined && (req.reverse === true ? e.key >= marker : e.key <= marker)) continue;
          if (req.reverse === true) {
            all.push(fileInfoJson(c, e));
            if (all.length > number) all.shift();
            continue;
          }
          if (number > 0 && sent >= number) break;
          sent++;
          await send(fileInfoJson(c, e));
        }
        for (const fi of all.reverse()) await send(fi);
      },
      'pfs_v2.API/WalkFile': async (req, _ctx, send) => {
        const f = fileFrom(req.file, 'file');
        const c = s.resolveCommit(f.ref);
        const number = int64From(req.number, 'number');
        let sent = 0;
        for await (const e of s.walkFile(c, f.path)) {
          if (number > 0 && sent++ >= number) break;
          await send(fileInfoJson(c, e));
        }
      },
      'pfs_v2.API/GlobFile': async (req, _ctx, send) => {
        const c = s.resolveCommit(commitRefFrom(req.commit, 'commit'));
        if (typeof req.pattern !== 'string') throw invalidArgument('pattern must be set');
        for await (const e of s.globFile(c, req.pattern)) await send(fileInfoJson(c, e));
      },
      'pfs_v2.API/DiffFile': async (req, _ctx, send) => {
        const nf = fileFrom(req.newFile, 'newFile');
        const newCommit = s.resolveCommit(nf.ref);
        let old: { commit: CommitRecord | null; path: string } | null = null;
        if (obj(req.oldFile)) {
          const of = fileFrom(req.oldFile, 'oldFile');
          old = { commit: s.resolveCommit(of.ref), path: of.path };
        }
        for await (const d of s.diffFile(newCommit, nf.path, old, req.shallow === true)) {
          await send({
            newFile: d.newEntry ? fileInfoJson(newCommit, d.newEntry) : null,
            oldFile: d.oldEntry ? fileInfoJson(old?.commit ?? (s.commitById(newCommit.parent as string) as CommitRecord), d.oldEntry) : null,
          });
        }
      },
    };
  }

  commitInfo(c: CommitRecord): Json {
    const parent = c.parent ? this.store.commitById(c.parent) : undefined;
    const children = c.children.map((id) => this.store.commitById(id)).filter((x): x is CommitRecord => !!x);
    return commitInfoJson(c, parent, children, this.createdBy);
  }

  /** Runs a request through the spec check, pachd's permission check and its method. */
  async callUnary(method: string, req: Json, ctx: CallContext): Promise<Json> {
    const fn = this.unary[method];
    if (!fn) throw unknownMethod(method);
    checkRequest(method, req);
    this.authorizeRepos(method, req, ctx.caller);
    return fn(req, ctx);
  }

  async callStream(method: string, req: Json, ctx: CallContext, send: Send): Promise<void> {
    const fn = this.streams[method];
    if (!fn) throw unknownMethod(method);
    checkRequest(method, req);
    this.authorizeRepos(method, req, ctx.caller);
    return fn(req, ctx, send);
  }

  /** The raw download (/pfs/): pachd's file server calls InspectFile, then GetFile. */
  authorizeDownload(caller: Caller | undefined, project: string, repo: string): void {
    const exists = this.repoExists(project, repo);
    this.auth.authorize(caller, repoResource(project, repo), ['REPO_INSPECT_FILE'], exists);
    this.auth.authorize(caller, repoResource(project, repo), ['REPO_READ'], exists);
  }

  private repoExists(project: string, repo: string): boolean {
    try {
      this.store.repo(project, repo);
      return true;
    } catch {
      return false;
    }
  }

  /** Checks the permissions pachd's pfs server asks of the caller on each repo the request names. */
  private authorizeRepos(method: string, req: Json, caller: Caller | undefined): void {
    if (!caller) return;
    for (const { project, repo, permissions, context } of repoPermissions(method, req)) {
      try {
        this.auth.authorize(caller, repoResource(project, repo), permissions, this.repoExists(project, repo));
      } catch (err) {
        if (context && err instanceof PachError) throw new PachError(err.code, context + err.message);
        throw err;
      }
    }
  }

  has(method: string): 'unary' | 'stream' | 'modify' | undefined {
    if (method === 'pfs_v2.API/ModifyFile') return 'modify';
    if (this.unary[method]) return 'unary';
    if (this.streams[method]) return 'stream';
    return undefined;
  }

  /** ModifyFile: a client stream of ModifyFileRequest messages, applied when it ends. */
  async modifyFile(messages: AsyncIterable<Json>, caller?: Caller): Promise<Json> {
    const session = new ModifyFileSession(this.store);
    try {
      for await (const msg of messages) {
        checkRequest('pfs_v2.API/ModifyFile', msg);
        const op = modifyOpFrom(msg);
        if (op.kind === 'setCommit') this.auth.authorize(caller, repoResource(op.ref.project, op.ref.repo), ['REPO_WRITE'], this.repoExists(op.ref.project, op.ref.repo));
        if (op.kind === 'copyFile') this.auth.authorize(caller, repoResource(op.src.project, op.src.repo), ['REPO_READ'], this.repoExists(op.src.project, op.src.repo));
        await session.handle(op);
      }
      await session.finish();
    } catch (err) {
      await session.abort();
      throw err;
    }
    return {};
  }
}

const repoResource = (project: string, repo: string) => ({ type: 'REPO' as const, name: `${project}/${repo}` });

type RepoOf = (req: Json) => { project: string; repo: string };
const repoOf: RepoOf = (req) => repoFrom(req.repo, 'repo');
const branchRepo: RepoOf = (req) => branchFrom(req.branch, 'branch');
const commitRepo: RepoOf = (req) => commitRefFrom(req.commit, 'commit');
const fileRepo: RepoOf = (req) => fileFrom(req.file, 'file').ref;

/**
 * What pachd's pfs server checks on each method (src/server/pfs/server: val_server.go, server_commit.go,
 * server_file.go, server_branch.go, server_repo.go). InspectRepo, ListRepo and InspectBranch need only an
 * authenticated caller; CreateRepo and DeleteRepo are checked in their methods.
 */
const PERMISSIONS: Record<string, [RepoOf, Permission[], string?]> = {
  'pfs_v2.API/DeleteRepo': [repoOf, ['REPO_DELETE']],
  'pfs_v2.API/CreateBranch': [branchRepo, ['REPO_CREATE_BRANCH']],
  'pfs_v2.API/DeleteBranch': [branchRepo, ['REPO_DELETE_BRANCH']],
  'pfs_v2.API/ListBranch': [repoOf, ['REPO_LIST_BRANCH']],
  'pfs_v2.API/StartCommit': [branchRepo, ['REPO_WRITE'], 'start commit in transaction: '], // pachd's wrapping, checked
  'pfs_v2.API/FinishCommit': [commitRepo, ['REPO_WRITE']],
  'pfs_v2.API/InspectCommit': [commitRepo, ['REPO_INSPECT_COMMIT']],
  'pfs_v2.API/ListCommit': [repoOf, ['REPO_LIST_COMMIT']],
  'pfs_v2.API/SubscribeCommit': [repoOf, ['REPO_LIST_COMMIT']],
  'pfs_v2.API/InspectFile': [fileRepo, ['REPO_INSPECT_FILE']],
  'pfs_v2.API/ListFile': [fileRepo, ['REPO_LIST_FILE']],
  'pfs_v2.API/WalkFile': [fileRepo, ['REPO_READ', 'REPO_LIST_FILE']],
  'pfs_v2.API/GlobFile': [commitRepo, ['REPO_READ', 'REPO_LIST_FILE']],
  'pfs_v2.API/GetFile': [fileRepo, ['REPO_READ']],
};

/** The repos a request names and what it needs on each; a malformed request is left to its method's own error. */
function repoPermissions(method: string, req: Json): { project: string; repo: string; permissions: Permission[]; context?: string }[] {
  try {
    if (method === 'pfs_v2.API/DiffFile') {
      // diffFile checks the old file's repo first, then the new one's.
      const files = obj(req.oldFile) ? [fileFrom(req.oldFile, 'oldFile'), fileFrom(req.newFile, 'newFile')] : [fileFrom(req.newFile, 'newFile')];
      return files.map((f) => ({ project: f.ref.project, repo: f.ref.repo, permissions: ['REPO_READ'] }));
    }
    const rule = PERMISSIONS[method];
    if (!rule) return [];
    const { project, repo } = rule[0](req);
    return [{ project, repo, permissions: rule[1], context: rule[2] }];
  } catch {
    return [];
  }
}

export function unknownMethod(method: string): PachError {
  const [service, name] = method.split('/');
  return new PachError(GrpcCode.Unimplemented, `unknown method ${name} for service ${service}`);
}

function modifyOpFrom(msg: Json): ModifyOp {
  const kinds = ['setCommit', 'addFile', 'deleteFile', 'copyFile'].filter((k) => msg[k] !== undefined && msg[k] !== null);
  if (kinds.length !== 1) {
    throw invalidArgument(`a ModifyFileRequest needs exactly one of setCommit, addFile, deleteFile, copyFile (got ${kinds.join(', ') || 'none'})`);
  }
  if (msg.setCommit) return { kind: 'setCommit', ref: commitRefFrom(msg.setCommit, 'setCommit') };
  if (msg.addFile) {
    const a = msg.addFile as Json;
    if (typeof a.path !== 'string' || !a.path) throw invalidArgument('addFile.path must be set');
    const url = obj(a.url);
    if (url) {
      if (typeof url.URL !== 'string' || !url.URL) throw invalidArgument('addFile.url.URL must be set');
      return { kind: 'addFile', path: a.path, url: url.URL };
    }
    return { kind: 'addFile', path: a.path, raw: bytesFrom(a.raw, 'addFile.raw') };
  }
  if (msg.deleteFile) {
    const d = msg.deleteFile as Json;
    if (typeof d.path !== 'string') throw invalidArgument('deleteFile.path must be set');
    return { kind: 'deleteFile', path: d.path };
  }
  const cp = msg.copyFile as Json;
  if (typeof cp.dst !== 'string' || !cp.dst) throw invalidArgument('copyFile.dst must be set');
  const src = fileFrom(cp.src, 'copyFile.src');
  return { kind: 'copyFile', dst: cp.dst, src: src.ref, srcPath: src.path, append: cp.append === true };
}
