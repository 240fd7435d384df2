// Whether a commit belongs to a pipeline's branch: reachable from the branch's head (its ancestry), not
// merely a commit of the same repository. A commit of another branch (`dev` triggered for the `master`
// pipeline) must never be trained as the branch's, nor become the watcher's cursor, which it would strand.
import type { PachydermClient } from '../activities/pachyderm/client';
import type { RepoRef } from '../common/pipeline';
import { ErrorType } from '../common/errors';
import { repoOf } from '../activities/pachyderm/types';
import { NotFoundError, UsageError } from './cli-support';

const isNotFound = (err: unknown) => (err as { type?: string }).type === ErrorType.NotFound;

/**
 * The newest of `candidates` on the branch (walking back from its head), or null when none is, or the
 * branch does not exist. One walk however many candidates: the watcher asks with its accepted commits.
 */
export async function newestOnBranch(pachd: PachydermClient, at: RepoRef, candidates: string[], signal?: AbortSignal): Promise<string | null> {
  const wanted = new Set(candidates);
  if (wanted.size === 0) return null;
  const repo = repoOf(at.project, at.repo);
  try {
    for await (const info of pachd.listBranchCommits({ repo, name: at.branch }, signal)) {
      if (info.commit.id && wanted.has(info.commit.id)) return info.commit.id;
    }
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  return null;
}

/** Where a commit is: on the branch, in the repository but not on the branch, or not in the repository. */
export async function locateCommit(pachd: PachydermClient, at: RepoRef, commit: string): Promise<'on-branch' | 'other-branch' | 'not-found'> {
  try {
    await pachd.inspectCommit({ repo: repoOf(at.project, at.repo), id: commit });
  } catch (err) {
    if (isNotFound(err)) return 'not-found';
    throw err;
  }
  return (await newestOnBranch(pachd, at, [commit])) === commit ? 'on-branch' : 'other-branch';
}

/** For `ct trigger` and `ct deploy`: refuses (exit 2 or 3) a commit that is not on the pipeline's branch. */
export async function requireCommitOnBranch(pachd: PachydermClient, at: RepoRef, commit: string, what: string): Promise<void> {
  const where = `${at.project}/${at.repo}@${at.branch}`;
  const found = await locateCommit(pachd, at, commit);
  if (found === 'not-found') throw new NotFoundError(`commit ${commit} is not a commit of ${what} repository ${at.project}/${at.repo}: refused`);
  if (found === 'other-branch') {
    throw new UsageError(`commit ${commit} of ${at.project}/${at.repo} is not on branch ${at.branch} (the pipeline follows ${where}): refused`);
  }
}
