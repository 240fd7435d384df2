// The commit watcher: follows SubscribeCommit on every pipeline's input branch (→ training) and output
// branch (→ deployment cascade) and sends each commit to the right workflow (update-with-start); it logs
// each answer (`watch.answer`) and counts them by status (`counts`, in every `watch.answer` line).
//
// SubscribeCommit replays the branch's whole history on every (re)connect and has no resume token, so
// the cursor lives in Temporal: the last commit the target workflow accepted. Replayed commits up to
// and including it are skipped; the workflows also dedupe, so a commit is never processed twice.
import type { Client } from '@temporalio/client';
import type { PipelineSpec, RepoRef } from '../common/pipeline';
import { deploymentQueueWorkflowId, repositoryWorkflowId } from '../common/ids';
import { repositoryStatusQuery, deployerStatusQuery } from '../workflows';
import { describeAnswer, requestDeploy, triggerCommit } from './signals';
import type { PachydermClient } from '../activities/pachyderm/client';
import { repoOf } from '../activities/pachyderm/types';
import { ErrorType } from '../common/errors';
import type { TriggerAnswer } from '../workflows/repository';
import type { DeployAnswer } from '../workflows/deployer';

export interface WatcherOptions {
  client: Client;
  taskQueue: string;
  pipelines: PipelineSpec[];
  pachd: PachydermClient;
  signal: AbortSignal;
  log: (event: string, fields: Record<string, unknown>) => void;
  /** Delay before reconnecting after the stream fails; doubles up to 30 s. */
  retryDelayMs?: number;
  /** Told of each stream's state, by `<training|deployment> <project>/<repo>@<branch>` (for readiness). */
  onStream?: (stream: string, state: StreamState) => void;
}

/** A stream is connecting, open, waiting for its repo to be created, or failed (and will retry). */
export type StreamState = 'connecting' | 'subscribed' | 'waiting for the repo' | 'down';

interface Follow {
  what: 'training' | 'deployment';
  pipeline: PipelineSpec;
  repo: RepoRef;
  workflowId: string;
  cursor(): Promise<string | null>;
  forward(commit: string): Promise<TriggerAnswer | DeployAnswer>;
}

/** Answers received since the watcher started, by status (accepted, already-queued, …, rejected). */
export type AnswerCounts = Record<string, number>;

/** Runs until `signal` aborts; returns once every stream is closed. */
export async function runWatcher(opts: WatcherOptions): Promise<void> {
  const follows: Follow[] = opts.pipelines.flatMap((pipeline): Follow[] => {
    const repoWf = repositoryWorkflowId(pipeline.input);
    const deployWf = deploymentQueueWorkflowId(pipeline.deployment.namespace, pipeline.deployment.name);
    return [
      {
        what: 'training',
        pipeline,
        repo: pipeline.input,
        workflowId: repoWf,
        cursor: () => lastAccepted(opts.client, repoWf, 'training'),
        forward: async (commit) => (await triggerCommit(opts.client, opts.taskQueue, pipeline, commit)).answer,
      },
      {
        what: 'deployment',
        pipeline,
        repo: pipeline.output,
        workflowId: deployWf,
        cursor: () => lastAccepted(opts.client, deployWf, 'deployment'),
        forward: async (commit) => (await requestDeploy(opts.client, opts.taskQueue, pipeline, commit, 'cascade')).answer,
      },
    ];
  });
  const counts: AnswerCounts = {};
  await Promise.all(follows.map((f) => followForever(f, opts, counts)));
}

async function lastAccepted(client: Client, workflowId: string, what: Follow['what']): Promise<string | null> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    const status = what === 'training' ? await handle.query(repositoryStatusQuery) : await handle.query(deployerStatusQuery);
    return status.accepted[status.accepted.length - 1] ?? null;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return null;
    // A closed workflow cannot answer queries from a worker-less state; then there is no cursor either.
    if (/not found|closed|completed|terminated/i.test((err as Error).message)) return null;
    throw err;
  }
}

async function followForever(follow: Follow, opts: WatcherOptions, counts: AnswerCounts): Promise<void> {
  const base = opts.retryDelayMs ?? 1000;
  let delay = base;
  const where = `${follow.repo.project}/${follow.repo.repo}@${follow.repo.branch}`;
  const stream = `${follow.what} ${where}`;
  while (!opts.signal.aborted) {
    try {
      opts.onStream?.(stream, 'connecting');
      await followOnce(follow, opts, counts, () => (delay = base), () => opts.onStream?.(stream, 'subscribed'));
    } catch (err) {
      if (opts.signal.aborted) break;
      // An output repo appears with a pipeline's first model: until then, check at the base pace rather than
      // backing off, so the first cascade is not held up.
      const missingRepo = /not found/i.test((err as Error).message);
      if (missingRepo) delay = base;
      opts.onStream?.(stream, missingRepo ? 'waiting for the repo' : 'down');
      opts.log('watch.error', { what: follow.what, repo: where, error: (err as Error).message, retryInMs: delay });
    }
    if (opts.signal.aborted) break;
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, 30_000);
  }
}

async function followOnce(follow: Follow, opts: WatcherOptions, counts: AnswerCounts, connected: () => void, subscribed: () => void): Promise<void> {
  const where = `${follow.repo.project}/${follow.repo.repo}@${follow.repo.branch}`;
  const cursor = await follow.cursor();
  let skipping = cursor !== null && (await commitExists(opts.pachd, follow.repo, cursor, opts.signal));
  opts.log('watch.subscribe', { what: follow.what, repo: where, cursor, workflowId: follow.workflowId });
  for await (const commit of subscribeCommits(opts.pachd, follow.repo, opts.signal, subscribed)) {
    connected();
    if (skipping) {
      if (commit === cursor) skipping = false;
      continue;
    }
    const answer = await follow.forward(commit);
    counts[answer.status] = (counts[answer.status] ?? 0) + 1;
    opts.log('watch.answer', {
      what: follow.what,
      repo: where,
      commit,
      workflowId: follow.workflowId,
      answer: describeAnswer(answer),
      ...answer,
      counts: { ...counts },
    });
  }
  throw new Error('SubscribeCommit stream ended');
}

async function commitExists(pachd: PachydermClient, repo: RepoRef, id: string, signal: AbortSignal): Promise<boolean> {
  try {
    await pachd.inspectCommit({ repo: repoOf(repo.project, repo.repo), id }, undefined, undefined, signal);
    return true;
  } catch (err) {
    if ((err as { type?: string }).type === ErrorType.NotFound) return false;
    throw err;
  }
}

/** Ids of the finished commits of a branch, replayed from the first, then live; ends only on error or abort. */
async function* subscribeCommits(pachd: PachydermClient, repo: RepoRef, signal: AbortSignal, opened: () => void): AsyncGenerator<string> {
  for await (const info of pachd.subscribeCommit(repoOf(repo.project, repo.repo), repo.branch, signal, opened)) {
    if (info.commit.id) yield info.commit.id;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
