// Conversions between the emulator's records and the protojson that pachd's REST gateway speaks:
// camelCase keys, enum names, int64 as strings, bytes as base64, and, as grpc-gateway v2's default
// marshaler does (EmitUnpopulated), every field present: "" / "0" / [] / {} / null when unset.
import { invalidArgument } from './errors';
import type { FileEntry } from './file-index';
import { DEFAULT_PROJECT, type BranchRecord, type CommitRecord, type CommitRef, type CommitState, type RepoRecord } from './store';

export type Json = Record<string, unknown>;

export interface RepoJson {
  name: string;
  type: string;
  project: { name: string };
}

export function repoJson(project: string, name: string): RepoJson {
  return { name, type: 'user', project: { name: project } };
}

export function branchJson(project: string, repo: string, name: string): Json {
  return { repo: repoJson(project, repo), name };
}

/** A commit as pachd 2.x answers it: its global id, no branch (a request may still name one). */
export function commitJson(c: CommitRecord): Json {
  return { repo: repoJson(c.project, c.repo), id: c.id, branch: null };
}

/** Who pachd says made a commit or branch: the token's user (the emulator's one token is root's); none without auth. */
export type CreatedBy = '' | 'pach:root';

export function commitInfoJson(c: CommitRecord, parent: CommitRecord | undefined, children: CommitRecord[], createdBy: CreatedBy): Json {
  return {
    commit: commitJson(c),
    origin: { kind: c.origin },
    description: c.description,
    parentCommit: parent ? commitJson(parent) : null,
    childCommits: children.map((child) => ({ ...commitJson(child), branch: child.branch ? branchJson(child.project, child.repo, child.branch) : null })), // pachd names the branch here
    started: c.started,
    finishing: c.finishing,
    finished: c.finished,
    directProvenance: [],
    directSubvenance: [],
    error: c.error,
    // pachd computes the size after the commit finished (0 until then); an open or errored commit
    // has no size and no compaction times in details.
    sizeBytesUpperBound: String(c.sizeBytes ?? 0),
    details: c.finished && !c.error
      ? { sizeBytes: String(c.sizeBytes ?? 0), compactingTime: '0s', validatingTime: '0s' }
      : { sizeBytes: '0', compactingTime: null, validatingTime: null },
    metadata: {},
    createdBy,
    createdAt: c.started,
    updatedAt: c.updatedAt,
  };
}

/** `details` only on InspectRepo: ListRepo leaves it unset, as pachd does. */
export function repoInfoJson(r: RepoRecord, branches: BranchRecord[], sizeBytes: number, withDetails: boolean): Json {
  return {
    repo: repoJson(r.project, r.name),
    created: r.created,
    sizeBytesUpperBound: String(sizeBytes),
    description: r.description,
    branches: branches.map((b) => branchJson(b.project, b.repo, b.name)),
    authInfo: null,
    details: withDetails ? { sizeBytes: String(sizeBytes) } : null,
    metadata: {},
  };
}

export function branchInfoJson(b: BranchRecord, head: CommitRecord, createdBy: CreatedBy): Json {
  return {
    branch: branchJson(b.project, b.repo, b.name),
    head: commitJson(head),
    provenance: [],
    subvenance: [],
    directProvenance: [],
    trigger: null,
    metadata: {},
    createdBy,
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
    branchPropagationSpecs: [],
  };
}

export function fileInfoJson(c: CommitRecord, e: FileEntry): Json {
  return {
    file: { commit: commitJson(c), path: e.key, datum: e.dir ? '' : 'default' }, // files carry pachd's default datum tag
    fileType: e.dir ? 'DIR' : 'FILE',
    committed: c.finished,
    sizeBytes: String(e.size),
    hash: Buffer.from(e.hash, 'hex').toString('base64'),
  };
}

// ---- requests -------------------------------------------------------------------------------

function obj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

/** `Repo` of a request: the project defaults to `default`, only user repos exist. */
export function repoFrom(v: unknown, field: string): { project: string; repo: string } {
  const r = obj(v);
  const name = r?.name;
  if (typeof name !== 'string' || !name) throw invalidArgument(`${field}.name must be set`);
  const type = r?.type;
  if (type !== undefined && type !== '' && type !== 'user') throw invalidArgument(`${field}.type ${JSON.stringify(type)}: the emulator has user repos only`);
  const project = obj(r?.project)?.name;
  return { project: typeof project === 'string' && project ? project : DEFAULT_PROJECT, repo: name };
}

export function branchFrom(v: unknown, field: string): { project: string; repo: string; name: string } {
  const b = obj(v);
  if (!b) throw invalidArgument(`${field} must be set`);
  const name = b.name;
  if (typeof name !== 'string' || !name) throw invalidArgument(`${field}.name must be set`);
  return { ...repoFrom(b.repo, `${field}.repo`), name };
}

/** `Commit` of a request: `{repo, id}`, `{branch}` or `{repo, id: "<branch>"}`. */
export function commitRefFrom(v: unknown, field: string): CommitRef {
  const c = obj(v);
  if (!c) throw invalidArgument(`${field} must be set`);
  const branch = obj(c.branch);
  const repoSource = c.repo ?? branch?.repo;
  const { project, repo } = repoFrom(repoSource, `${field}.repo`);
  const id = typeof c.id === 'string' ? c.id : undefined;
  const branchName = typeof branch?.name === 'string' && branch.name ? branch.name : undefined;
  if (!id && !branchName) throw invalidArgument(`${field} must have an id or a branch`);
  return { project, repo, id: id || undefined, branch: branchName };
}

export function fileFrom(v: unknown, field: string): { ref: CommitRef; path: string } {
  const f = obj(v);
  if (!f) throw invalidArgument(`${field} must be set`);
  const p = f.path;
  if (p !== undefined && typeof p !== 'string') throw invalidArgument(`${field}.path must be a string`);
  return { ref: commitRefFrom(f.commit, `${field}.commit`), path: (p as string | undefined) || '/' };
}

const COMMIT_STATES: CommitState[] = ['COMMIT_STATE_UNKNOWN', 'STARTED', 'READY', 'FINISHING', 'FINISHED'];

export function commitStateFrom(v: unknown, field: string): CommitState | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && COMMIT_STATES[v]) return COMMIT_STATES[v];
  if (typeof v === 'string' && (COMMIT_STATES as string[]).includes(v)) return v as CommitState;
  throw invalidArgument(`${field}: invalid value ${JSON.stringify(v)} for enum pfs_v2.CommitState (one of ${COMMIT_STATES.join(', ')})`);
}

export function int64From(v: unknown, field: string): number {
  if (v === undefined || v === null || v === '') return 0;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw invalidArgument(`${field}: invalid int64 ${JSON.stringify(v)}`);
  return n;
}

/** protojson bytes: standard or URL-safe base64, padded or not. */
export function bytesFrom(v: unknown, field: string): Buffer {
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (typeof v !== 'string') throw invalidArgument(`${field}: invalid base64 bytes`);
  // Node's decoder skips characters outside the alphabet and stops at '=': any of them in the text
  // leaves the output shorter than its length implies. (A regex over megabytes of base64 cost more
  // than the decoding.)
  let end = v.length;
  while (end > 0 && v.charCodeAt(end - 1) === 61 /* = */) end--;
  const bytes = Buffer.from(v, 'base64');
  if (v.length - end > 2 || end % 4 === 1 || bytes.length !== Math.floor((end * 3) / 4)) {
    throw invalidArgument(`${field}: invalid base64 bytes`);
  }
  return bytes;
}
