// diffCommit: what an input commit changed against its base, counted while streaming DiffFile, so the
// memory used does not grow with the commit.
import crypto from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { DiffCommitInput, DiffSummary, FileCount } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { failure, failureType, isTimeout } from './http/errors';
import { heartbeatDuring } from './heartbeat';
import type { CommitInfo, Commit, DiffFileResponse, FileInfo } from './pachyderm/types';
import { repoOf } from './pachyderm/types';
import { pathExcluder } from '../common/path-filter';

/** One InspectCommit wait is bounded by this; the activity then asks again (and heartbeats meanwhile). */
const COMMIT_WAIT_SLICE_MS = 60_000;
/** Heartbeats while counting a long diff (the SDK throttles them further). */
const HEARTBEAT_EVERY_MS = 2_000;

export async function diffCommit(clients: Clients, input: DiffCommitInput): Promise<DiffSummary> {
  const repo = repoOf(input.repo.project, input.repo.repo);
  const where = `${input.repo.project}/${input.repo.repo}@${input.commit}`;
  const commit: Commit = { repo, id: input.commit };

  let info = await inspectInputCommit(clients, commit, where);
  while (!info.finished) {
    try {
      info = await heartbeatDuring(
        clients.pachyderm.inspectCommit(commit, 'FINISHED', COMMIT_WAIT_SLICE_MS),
        () => ({ phase: 'waiting-for-commit', commit: input.commit }),
      );
    } catch (err) {
      if (!isTimeout(err)) throw mapCommitError(err, where);
    }
  }
  if (info.error) throw failure(ErrorType.InvalidCommit, `commit ${where} failed in Pachyderm: ${info.error}`, true);

  // null: a first training, which sees every file of the commit (the whole tree), not merely what the
  // commit changed against its parent (commits coalesced into it would be lost). Absent: the parent.
  const wholeTree = input.baseCommit === null;
  const baseCommit = wholeTree ? null : (input.baseCommit ?? info.parentCommit?.id ?? null);
  const summary = { added: zero(), modified: zero(), deleted: zero() };
  // Excluded files count apart and stay out of the digest: the digest names what is trained on.
  const excluded = zero();
  const isExcluded = pathExcluder(input.exclude ?? []);
  const digest = crypto.createHash('sha256');
  const ctx = Context.current();
  let seen = 0;
  let lastHeartbeat = Date.now();

  const newFile = { commit, path: '/' };
  const oldFile = input.baseCommit ? { commit: { repo, id: input.baseCommit }, path: '/' } : undefined;
  try {
    const changes = wholeTree ? allFilesAsAdded(clients, newFile) : clients.pachyderm.diffFile(newFile, oldFile);
    for await (const batch of changes) {
      // One digest update per batch: the same bytes in the same order as one per file (so the same
      // digest), without a native call per file.
      let lines = '';
      for (const change of batch) {
        const kind = change.newFile && change.oldFile ? 'modified' : change.newFile ? 'added' : 'deleted';
        const file = (change.newFile ?? change.oldFile) as FileInfo;
        if (file.fileType !== 'FILE') continue; // directories change whenever a child does
        if (isExcluded(file.file.path)) {
          excluded.files += 1;
          excluded.bytes += Number(file.sizeBytes ?? 0);
          continue;
        }
        summary[kind].files += 1;
        summary[kind].bytes += Number(file.sizeBytes ?? 0);
        lines += `${kind}\t${file.file.path}\t${file.hash ?? ''}\n`;
        seen += 1;
      }
      digest.update(lines);
      if (Date.now() - lastHeartbeat >= HEARTBEAT_EVERY_MS) {
        lastHeartbeat = Date.now();
        ctx.heartbeat({ phase: 'diffing', commit: input.commit, files: seen });
      }
    }
  } catch (err) {
    throw mapCommitError(err, input.baseCommit ? `${where} against ${input.baseCommit}` : where);
  }

  const kind = summary.added.files + summary.modified.files > 0 ? 'data' : summary.deleted.files > 0 ? 'deletions-only' : 'empty';
  return {
    commit: input.commit,
    baseCommit,
    ...summary,
    ...(input.exclude?.length ? { excluded } : {}),
    digest: digest.digest('hex'),
    kind,
  };
}

/** Every file of the commit, as DiffFile would report it against an empty commit. */
async function* allFilesAsAdded(clients: Clients, root: { commit: Commit; path: string }): AsyncGenerator<DiffFileResponse[]> {
  for await (const batch of clients.pachyderm.walkFile(root)) yield batch.map((newFile) => ({ newFile }));
}

async function inspectInputCommit(clients: Clients, commit: Commit, where: string): Promise<CommitInfo> {
  try {
    return await clients.pachyderm.inspectCommit(commit);
  } catch (err) {
    throw mapCommitError(err, where);
  }
}

/** An unknown repository or commit cannot become known by retrying. */
function mapCommitError(err: unknown, where: string): unknown {
  const type = failureType(err);
  if (type === ErrorType.NotFound || type === ErrorType.BadRequest) {
    return failure(ErrorType.InvalidCommit, `cannot use commit ${where}: ${(err as Error).message}`, true);
  }
  return err;
}

function zero(): FileCount {
  return { files: 0, bytes: 0 };
}
