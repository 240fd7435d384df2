// The commit watcher: follows SubscribeCommit on every pipeline's input branch (→ training) and output
// branch (→ deployment cascade) and sends each commit to the right workflow (update-with-start); it logs
// each answer (`watch.answer`) and counts them by status (`counts`, in every `watch.answer` line).
//
// SubscribeCommit replays the branch's whole history on every (re)connect and has no resume token, so
// the cursor lives in Temporal: the newest commit on the branch that the target workflow accepted.
// Replayed commits up to and including it are skipped; the workflows also dedupe, so a commit is never
// processed twice. A cursor that is not on the branch (a commit of another branch triggered by hand)
// would never be replayed, and every later commit would be skipped: it is reported loudly and the
// watcher resumes after the newest accepted commit that is on the branch.
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
import { asTraceParent } from '../workflows/trace-context';
import { locateCommit, newestOnBranch } from './commit-on-branch';
import type { WatcherMetrics } from './watcher-metrics';
import type { CommitInfo } from '../activities/pachyderm/types';

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
  /** Counts commits, requests, reconnects and lag (watcher-metrics.ts); none when absent. */
  metrics?: WatcherMetrics;
}

/** A stream is connecting, open, waiting for its repo to be created, or failed (and will retry). */
export type StreamState = 'connecting' | 'subscribed' | 'waiting for the repo' | 'down';

interface Follow {
  what: 'training' | 'deployment';
  pipeline: PipelineSpec;
  repo: RepoRef;
  workflowId: string;
  /** The commits the target workflow accepted, oldest first. */
  accepted(): Promise<string[]>;
  /** Sends the commit to the workflow; `description` is the commit's (an output commit names its training's trace). */
  forward(commit: string, description: string): Promise<TriggerAnswer | DeployAnswer>;
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
        accepted: () => acceptedBy(opts.client, repoWf, 'training'),
        forward: async (commit) => (await triggerCommit(opts.client, opts.taskQueue, pipeline, commit)).answer,
      },
      {
        what: 'deployment',
        pipeline,
        repo: pipeline.output,
        workflowId: deployWf,
        accepted: () => acceptedBy(opts.client, deployWf, 'deployment'),
        forward: async (commit, description) => (await requestDeploy(opts.client, opts.taskQueue, pipeline, commit, 'cascade', traceParentOf(description))).answer,
      },
    ];
  });
  const counts: AnswerCounts = {};
  await Promise.all(follows.map((f) => followForever(f, opts, counts)));
}

/** The commits the workflow accepted, oldest first (none when it does not exist or has closed). */
async function acceptedBy(client: Client, workflowId: string, what: Follow['what']): Promise<string[]> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    const status = what === 'training' ? await handle.query(repositoryStatusQuery) : await handle.query(deployerStatusQuery);
    return status.accepted;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return [];
    // A closed workflow cannot answer queries from a worker-less state; then there is no cursor either.
    if (/not found|closed|completed|terminated/i.test((err as Error).message)) return [];
    throw err;
  }
}

/** The newest accepted commit on the branch; says so loudly when the last accepted one is not on it. */
async function cursorOf(follow: Follow, opts: WatcherOptions, where: string): Promise<string | null> {
  const accepted = await follow.accepted();
  const last = accepted[accepted.length - 1] ?? null;
  const cursor = await newestOnBranch(opts.pachd, follow.repo, accepted, opts.signal);
  if (last !== null && cursor !== last && (await locateCommit(opts.pachd, follow.repo, last)) !== 'on-branch') {
    opts.log('watch.cursor-not-on-branch', {
      level: 'warn',
      pipeline: follow.pipeline.name,
      what: follow.what,
      repo: where,
      workflowId: follow.workflowId,
      lastAccepted: last,
      resumeAfter: cursor,
      message: `the last commit ${follow.workflowId} accepted, ${last}, is not on ${where}: resuming after ${cursor ?? 'nothing (the whole branch is replayed; the workflows dedupe)'}`,
    });
  }
  return cursor;
}

async function followForever(follow: Follow, opts: WatcherOptions, counts: AnswerCounts): Promise<void> {
  const base = opts.retryDelayMs ?? 1000;
  let delay = base;
  const where = `${follow.repo.project}/${follow.repo.repo}@${follow.repo.branch}`;
  const stream = `${follow.what} ${where}`;
  // An output repo and branch appear with a pipeline's first model: their absence is said once, then their appearance,
  // and meanwhile it is looked for at the base pace (not backing off) so the first cascade is not held up.
  let missing = false;
  let failed = false;
  while (!opts.signal.aborted) {
    try {
      if (missing && !(await branchExists(opts.pachd, follow.repo))) {
        await sleep(base, opts.signal);
        continue;
      }
      if (missing) opts.log('watch.repo-appeared', { pipeline: follow.pipeline.name, what: follow.what, repo: where });
      missing = false;
      if (failed) opts.metrics?.reconnect(stream);
      failed = false;
      opts.onStream?.(stream, 'connecting');
      await followOnce(follow, opts, counts, () => (delay = base), () => opts.onStream?.(stream, 'subscribed'));
    } catch (err) {
      if (opts.signal.aborted) break;
      if (isNotFound(err) && !(await branchExists(opts.pachd, follow.repo).catch(() => true))) {
        opts.log('watch.repo-missing', { pipeline: follow.pipeline.name, what: follow.what, repo: where, error: (err as Error).message, checkEveryMs: base });
        opts.onStream?.(stream, 'waiting for the repo');
        missing = true;
        delay = base;
      } else {
        // A failed stream, opened again next (a repo still to be created is not a reconnect).
        failed = true;
        opts.onStream?.(stream, 'down');
        opts.log('watch.error', { pipeline: follow.pipeline.name, what: follow.what, repo: where, error: (err as Error).message, retryInMs: delay });
      }
    }
    if (opts.signal.aborted) break;
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, 30_000);
  }
}

async function followOnce(follow: Follow, opts: WatcherOptions, counts: AnswerCounts, connected: () => void, subscribed: () => void): Promise<void> {
  const where = `${follow.repo.project}/${follow.repo.repo}@${follow.repo.branch}`;
  const stream = `${follow.what} ${where}`;
  const cursor = await cursorOf(follow, opts, where);
  let skipping = cursor !== null;
  opts.log('watch.subscribe', { pipeline: follow.pipeline.name, what: follow.what, repo: where, cursor, workflowId: follow.workflowId });
  for await (const info of subscribeCommits(opts.pachd, follow.repo, opts.signal, subscribed)) {
    const commit = info.commit.id;
    connected();
    if (skipping) {
      if (commit === cursor) skipping = false;
      continue;
    }
    opts.metrics?.commitSeen(stream);
    // An update waits for a worker to answer: stopping the watcher must not wait for one.
    const answer = await withCallSignal(opts, () => follow.forward(commit, info.description ?? ''));
    opts.metrics?.sent(stream, answer.status);
    const finished = Date.parse(info.finished ?? info.started ?? '');
    if (!Number.isNaN(finished)) opts.metrics?.lag(stream, (Date.now() - finished) / 1000);
    counts[answer.status] = (counts[answer.status] ?? 0) + 1;
    opts.log('watch.answer', {
      pipeline: follow.pipeline.name,
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

/** The finished commits of a branch, replayed from the first, then live; ends only on error or abort. */
async function* subscribeCommits(pachd: PachydermClient, repo: RepoRef, signal: AbortSignal, opened: () => void): AsyncGenerator<CommitInfo & { commit: { id: string } }> {
  for await (const info of pachd.subscribeCommit(repoOf(repo.project, repo.repo), repo.branch, signal, opened)) {
    if (info.commit.id) yield info as CommitInfo & { commit: { id: string } };
  }
}

/** The training's trace that publishModel wrote into an output commit's description, if any. */
function traceParentOf(description: string): string | undefined {
  return asTraceParent(/(?:^| )trace=(\S+)/.exec(description)?.[1]);
}

function isNotFound(err: unknown): boolean {
  return (err as { type?: string }).type === ErrorType.NotFound || /not found/i.test((err as Error).message);
}

/** The repository and its branch exist (an output repo and branch appear with the first model). */
async function branchExists(pachd: PachydermClient, at: RepoRef): Promise<boolean> {
  try {
    await pachd.inspectBranch({ repo: repoOf(at.project, at.repo), name: at.branch });
    return true;
  } catch (err) {
    if ((err as { type?: string }).type === ErrorType.NotFound) return false;
    throw err;
  }
}

/**
 * Runs Temporal calls that stop when the watcher stops. The client adds an abort listener per gRPC call
 * to the signal it is given and never removes it: given the watcher's own signal, which lives as long as
 * the process, that would be one more listener for every commit forwarded. A signal per forward, linked
 * to the watcher's and unlinked after, keeps the count constant.
 */
async function withCallSignal<T>(opts: WatcherOptions, fn: () => Promise<T>): Promise<T> {
  const call = new AbortController();
  const stop = () => call.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', stop, { once: true });
  try {
    return await opts.client.connection.withAbortSignal(call.signal, fn);
  } finally {
    opts.signal.removeEventListener('abort', stop);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // The listener goes with the timer: a long-running watcher must not pile them up on the signal.
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
