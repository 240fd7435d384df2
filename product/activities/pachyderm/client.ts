// A typed client for pachd's REST gateway (grpc-gateway v2): every call is `POST /api/pfs_v2.API/<Method>`,
// authenticated by the `authn-token` header.
import { Readable } from 'node:stream';
import { CancelledFailure } from '@temporalio/common';
import { HttpClient, createAgents, type HttpSettings } from '../http/client';
import { ErrorType, type ErrorTypeName } from '../../common/errors';
import { readNdjsonBatches, readNdjsonResults } from '../http/ndjson';
import type {
  Branch,
  BranchInfo,
  Commit,
  CommitInfo,
  CommitState,
  DiffFileResponse,
  File,
  FileInfo,
  ModifyFileRequest,
  Repo,
  RepoInfo,
} from './types';

const API = '/api/pfs_v2.API';
const AUTH = '/api/auth_v2.API';

/** Where pachd is: the worker's connections config, or just this for the watcher and `ct put`. */
export interface PachydermSettings extends HttpSettings {
  pachyderm: { url: string; token?: string };
}

/** The one client of pachd's REST gateway: the activities, the commit watcher and `ct put` use it. */
export class PachydermClient {
  private readonly http: HttpClient;

  constructor(config: PachydermSettings, agents = createAgents(config)) {
    const token = config.pachyderm.token;
    this.http = new HttpClient(config.pachyderm.url, config, agents, {
      headers: async (): Promise<Record<string, string>> => (token ? { 'authn-token': token } : {}),
      refresh: async () => undefined, // a static token: nothing to refresh, the 401 is final
    }, classifyPachdError);
  }

  inspectRepo(repo: Repo): Promise<RepoInfo> {
    return this.call('InspectRepo', { repo });
  }

  createRepo(repo: Repo, description = ''): Promise<unknown> {
    return this.call('CreateRepo', { repo, description });
  }

  inspectBranch(branch: Branch): Promise<BranchInfo> {
    return this.call('InspectBranch', { branch });
  }

  /** With `wait`, pachd answers only once the commit reaches that state; `timeoutMs` bounds one such wait. */
  inspectCommit(commit: Commit, wait?: CommitState, timeoutMs?: number, signal?: AbortSignal): Promise<CommitInfo> {
    return this.call('InspectCommit', wait ? { commit, wait } : { commit }, timeoutMs, signal);
  }

  startCommit(branch: Branch, description: string): Promise<Commit> {
    return this.call('StartCommit', { branch, description });
  }

  /** With `error`, the commit is finished as failed: pachd then skips its content. */
  finishCommit(commit: Commit, description?: string, error?: string, uncancellable = false): Promise<unknown> {
    return this.http.json({ method: 'POST', path: `${API}/FinishCommit`, body: { commit, description, error }, uncancellable });
  }

  /**
   * Streams the changes of `newFile` against `oldFile` (its parent's same path when omitted), in path order,
   * in batches (one per chunk received): a diff can have millions of entries (see readNdjsonBatches).
   */
  async *diffFile(newFile: File, oldFile?: File): AsyncGenerator<DiffFileResponse[]> {
    const stream = await this.http.stream({ method: 'POST', path: `${API}/DiffFile`, body: oldFile ? { newFile, oldFile } : { newFile } });
    yield* readNdjsonBatches<DiffFileResponse>(stream, 'POST /api/pfs_v2.API/DiffFile');
  }

  /** Every file and directory under `file` (recursively, in path order), in batches like diffFile. */
  async *walkFile(file: File): AsyncGenerator<FileInfo[]> {
    const stream = await this.http.stream({ method: 'POST', path: `${API}/WalkFile`, body: { file } });
    yield* readNdjsonBatches<FileInfo>(stream, 'POST /api/pfs_v2.API/WalkFile');
  }

  /** The commits of a branch from its head back to its first (ListCommit `to` the branch): ancestry, not creation branch. */
  async *listBranchCommits(branch: Branch, signal?: AbortSignal): AsyncGenerator<CommitInfo> {
    const body = { repo: branch.repo, to: { repo: branch.repo, branch }, all: true };
    const stream = await this.http.stream({ method: 'POST', path: `${API}/ListCommit`, body, signal });
    yield* readNdjsonResults<CommitInfo>(stream, 'POST /api/pfs_v2.API/ListCommit');
  }

  /**
   * The finished commits of a branch: its whole history from the first, then each new one as it finishes.
   * Ends only on error or when `signal` aborts (no timeout: the stream is idle between commits). `opened` is
   * called once pachd accepted the subscription, before any commit arrives.
   */
  async *subscribeCommit(repo: Repo, branch: string, signal: AbortSignal, opened?: () => void): AsyncGenerator<CommitInfo> {
    const body = { repo, branch, state: 'FINISHED' };
    const stream = await this.http.stream({ method: 'POST', path: `${API}/SubscribeCommit`, body, timeoutMs: 0, signal });
    opened?.();
    yield* readNdjsonResults<CommitInfo>(stream, 'POST /api/pfs_v2.API/SubscribeCommit');
  }

  /** Streams a file's bytes. GetFile streams `BytesValue`s, which protojson writes as bare base64 strings. */
  async *getFile(file: File): AsyncGenerator<Buffer> {
    const stream = await this.http.stream({ method: 'POST', path: `${API}/GetFile`, body: { file } });
    for await (const chunk of readNdjsonResults<string | { value?: string }>(stream, 'POST /api/pfs_v2.API/GetFile')) {
      const base64 = typeof chunk === 'string' ? chunk : chunk.value;
      if (base64) yield Buffer.from(base64, 'base64');
    }
  }

  /**
   * Client-streaming ModifyFile: the messages are pulled from `messages` only as fast as the upload
   * drains, so the request body is never held in memory. A Buffer is a message already encoded as its
   * NDJSON line (see encodeAddFile).
   */
  async modifyFile(messages: AsyncIterable<ModifyFileRequest | Buffer>): Promise<void> {
    // An error of the message source (e.g. an unsafe path in a checkpoint) is the one worth reporting,
    // not the aborted upload it causes; but when the activity is cancelled, the source (a download
    // aborted by the same cancellation) may fail first, and the cancellation is the cause.
    let sourceError: unknown;
    const lines = async function* (): AsyncGenerator<Buffer> {
      try {
        for await (const message of messages) yield Buffer.isBuffer(message) ? message : Buffer.from(JSON.stringify(message) + '\n');
      } catch (err) {
        sourceError = err;
        throw err;
      }
    };
    const body = Readable.from(lines(), { objectMode: false });
    try {
      await this.http.json({ method: 'POST', path: `${API}/ModifyFile`, body });
    } catch (err) {
      throw err instanceof CancelledFailure ? err : (sourceError ?? err);
    } finally {
      body.destroy(); // ends the source (and whatever it reads from) if the server answered early
    }
  }

  /**
   * Gives `principal` exactly `roles` on a repo (pachd replaces the principal's roles: idempotent). Needs
   * REPO_MODIFY_BINDINGS on it (repoOwner there, or clusterAdmin).
   */
  modifyRepoRoleBinding(repo: Repo, principal: string, roles: string[]): Promise<unknown> {
    const resource = { type: 'REPO', name: `${repo.project.name}/${repo.name}` };
    return this.http.json({ method: 'POST', path: `${AUTH}/ModifyRoleBinding`, body: { resource, principal, roles } });
  }

  /** A new token for `robot:<robot>` that expires after `ttlSeconds`. Needs the robotUser role (or clusterAdmin). */
  async getRobotToken(robot: string, ttlSeconds: number): Promise<string> {
    const { token } = await this.http.json<{ token: string }>({ method: 'POST', path: `${AUTH}/GetRobotToken`, body: { robot, ttl: String(ttlSeconds) } });
    return token;
  }

  private call<T>(method: string, body: unknown, timeoutMs?: number, signal?: AbortSignal): Promise<T> {
    return this.http.json<T>({ method: 'POST', path: `${API}/${method}`, body, timeoutMs, signal });
  }
}

/**
 * pachd checks a non-root user's rights before the repo's existence: a missing repo is answered
 * `no role binding exists for REPO …` with code Unknown (HTTP 500), which no retry can change.
 */
function classifyPachdError(status: number, message: string): { type: ErrorTypeName; retryable: boolean } | undefined {
  if (status === 500 && /no role binding exists for REPO /.test(message)) return { type: ErrorType.NotFound, retryable: false };
  return undefined;
}

/**
 * An `addFile` message of ModifyFile as its NDJSON line, in one allocation: the base64 is written
 * straight into the line, where JSON.stringify of the message would copy a large string three more
 * times (measured: 16 s of CPU per GiB, against 0.2 s this way) and leave that much garbage behind.
 */
export function encodeAddFile(path: string, data: Buffer): Buffer {
  const head = `{"addFile":{"path":${JSON.stringify(path)},"raw":"`;
  const tail = '"}}\n';
  const base64 = data.toString('base64');
  const line = Buffer.allocUnsafe(Buffer.byteLength(head) + base64.length + tail.length);
  let at = line.write(head);
  at += line.write(base64, at, 'latin1');
  line.write(tail, at, 'latin1');
  return line;
}
