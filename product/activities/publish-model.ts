// publishModel: copies a registered checkpoint from Determined into ONE commit of the output repo
// (checkpoint/** and model-info.yaml), streaming the tar archive straight into a ModifyFile upload so
// memory stays bounded whatever the checkpoint's size. The commit's description carries an idempotency
// key naming the model, version and checkpoint: a retry returns the finished commit, or rewrites the open
// commit a crashed attempt left behind. A version number alone is not enough: after the model is deleted
// and recreated in the registry, a new "version 1" is another checkpoint and must be published anew.
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { context, propagation } from '@opentelemetry/api';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import * as tar from 'tar-stream';
import type { ModelInfo, ModelVersionRef, PublishedModel, PublishModelInput } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { failure, failureType } from './http/errors';
import { dumpModelInfo, MODEL_INFO_PATH, parseModelInfo } from './model-info';
import type { Branch, Commit, CommitInfo, ModifyFileRequest } from './pachyderm/types';
import { repoOf } from './pachyderm/types';
import { encodeAddFile } from './pachyderm/client';
import { searcherOf } from './experiment-config';

/** Size of the raw bytes in one addFile message (base64 makes the line 4/3 of it). */
const CHUNK_BYTES = 64 * 1024;
/** How far back on the output branch a previous attempt's commit is looked for. */
const SEARCH_DEPTH = 20;

/** What releases before the checkpoint was in the key wrote: a prefix of the key of the same version. */
function versionKey(modelName: string, version: number): string {
  return `ct-publish model=${encodeURIComponent(modelName)} version=${version}`;
}

/** Identifies one registered checkpoint: the model, its registry id when known, the version and the checkpoint. */
export function publishKey(v: ModelVersionRef): string {
  const modelId = v.modelId !== undefined && v.modelId !== null ? ` model-id=${v.modelId}` : '';
  return `${versionKey(v.modelName, v.version)} checkpoint=${v.checkpointUuid}${modelId}`;
}

export async function publishModel(clients: Clients, input: PublishModelInput): Promise<PublishedModel> {
  const { pachyderm } = clients;
  const ctx = Context.current();
  const repo = repoOf(input.output.project, input.output.repo);
  const branch: Branch = { repo, name: input.output.branch };
  const key = publishKey(input.version);
  await ensureRepo(clients, branch);

  const previous = await findPublished(clients, branch, input.version);
  if (previous && (previous.finishing || previous.finished)) {
    const counts = parseCounts(previous.description ?? '');
    return { outputCommit: previous.commit.id!, ...counts, created: false };
  }
  // An open commit with our key is a crashed attempt's: write it again from scratch.
  const commit: Commit = previous ? { repo, id: previous.commit.id } : await pachyderm.startCommit(branch, key);
  const commitRef: Commit = { repo, id: commit.id };
  ctx.heartbeat({ phase: 'uploading', commit: commit.id });

  const counts = { files: 0, bytes: 0 };
  let archive: Readable | undefined;
  // From here on the commit is open: whatever ends the attempt is handled below.
  try {
    const info = await modelInfoOf(clients, input);
    // Opened here, inside the activity's context, so that cancelling the activity aborts the download too.
    archive = await clients.determined.downloadCheckpoint(input.version.checkpointUuid);
    await pachyderm.modifyFile(uploadMessages(archive, ctx, input, commitRef, info, counts));
  } catch (err) {
    // An open commit would block the branch: close it as failed when no retry will (a bad checkpoint,
    // or the workflow cancelling, also before the upload began). Other errors leave it open for the
    // next attempt to rewrite.
    if (isFinal(err, ctx)) {
      await pachyderm.finishCommit(commitRef, `${key} failed`, String((err as Error).message ?? err), true).catch(() => undefined);
    }
    throw err;
  } finally {
    archive?.destroy();
  }
  await pachyderm.finishCommit(commitRef, `${key} files=${counts.files} bytes=${counts.bytes}${traceOfThisRun()}`);
  return { outputCommit: commit.id!, ...counts, created: true };
}

/** `ctx` is passed in: the generator is driven by the upload stream, outside the activity's async context. */
async function* uploadMessages(
  archive: Readable,
  ctx: Context,
  input: PublishModelInput,
  commit: Commit,
  info: ModelInfo,
  counts: { files: number; bytes: number },
): AsyncGenerator<ModifyFileRequest | Buffer> {
  yield { setCommit: commit };
  // A new commit starts from its parent's files, and addFile appends: clear everything so the commit
  // holds exactly this model (as a pipeline's fresh /pfs/out did), whether or not it is a rewrite.
  yield { deleteFile: { path: '/' } };

  const extract = tar.extract();
  archive.on('error', (err) => extract.destroy(err));
  archive.pipe(extract);
  // One buffer for the whole archive: each full chunk is encoded into its NDJSON line before the
  // buffer is refilled, so the only allocation per chunk is the line handed to the upload.
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  try {
    for await (const entry of extract) {
      if (entry.header.type !== 'file') {
        entry.resume(); // directories are implied by file paths in PFS
        continue;
      }
      const target = `/checkpoint/${safeRelativePath(entry.header.name, input.version.checkpointUuid)}`;
      let filled = 0;
      let sent = false;
      for await (const data of entry) {
        for (let offset = 0; offset < (data as Buffer).length; ) {
          const copied = (data as Buffer).copy(chunk, filled, offset);
          offset += copied;
          filled += copied;
          if (filled === CHUNK_BYTES) {
            counts.bytes += filled;
            sent = true;
            yield encodeAddFile(target, chunk);
            filled = 0;
            ctx.heartbeat({ phase: 'uploading', commit: commit.id, bytes: counts.bytes });
          }
        }
      }
      if (filled > 0 || !sent) {
        counts.bytes += filled;
        yield encodeAddFile(target, chunk.subarray(0, filled)); // an empty file still exists
      }
      counts.files += 1;
    }
  } finally {
    archive.destroy();
    extract.destroy();
  }
  const infoBytes = Buffer.from(dumpModelInfo(info));
  counts.files += 1;
  counts.bytes += infoBytes.length;
  yield encodeAddFile(MODEL_INFO_PATH, infoBytes);
}

/** A checkpoint entry's path, refused when it would land outside `checkpoint/`. */
function safeRelativePath(name: string, uuid: string): string {
  const cleaned = name.replace(/\\/g, '/');
  const unsafe = cleaned.startsWith('/') || /^[a-zA-Z]:/.test(cleaned) || cleaned.split('/').includes('..');
  const normalized = path.posix.normalize(cleaned).replace(/^(\.\/)+/, '');
  if (unsafe || !normalized || normalized === '.') {
    throw failure(ErrorType.UnsafePath, `checkpoint ${uuid} holds an unsafe path ${JSON.stringify(name)}: refusing to publish it`, true);
  }
  return normalized;
}

async function modelInfoOf(clients: Clients, input: PublishModelInput): Promise<ModelInfo> {
  const v = input.version;
  let searcherMetric: string | null = null;
  let smallerIsBetter: boolean | null = null;
  try {
    const { config } = await clients.determined.getExperiment(v.experimentId);
    ({ metric: searcherMetric, smallerIsBetter } = searcherOf(config ?? {}, `of experiment ${v.experimentId}`));
  } catch (err) {
    // Only a missing or config-less experiment leaves these unknown; outages are retried.
    if (failureType(err) === ErrorType.Unavailable || failureType(err) === ErrorType.Unauthenticated) throw err;
  }
  return {
    name: v.modelName,
    pipeline: input.pipelineName,
    repo: input.inputRepo.repo,
    version: input.commit,
    registryVersion: v.version,
    checkpointUuid: v.checkpointUuid,
    experimentId: v.experimentId,
    inputCommit: input.commit,
    baseCommit: input.baseCommit,
    metric: v.metric,
    searcherMetric,
    smallerIsBetter,
  };
}

async function ensureRepo(clients: Clients, branch: Branch): Promise<void> {
  try {
    await clients.pachyderm.inspectRepo(branch.repo);
    return;
  } catch (err) {
    if (failureType(err) !== ErrorType.NotFound) throw err;
  }
  try {
    await clients.pachyderm.createRepo(branch.repo, 'Models published by continuous training (checkpoint/ and model-info.yaml)');
  } catch (err) {
    if (!/already exists/i.test((err as Error).message)) throw err; // created meanwhile
  }
}

/**
 * The newest commit on the branch (head and a few ancestors) that publishes this very checkpoint: its
 * description carries the key, or (written before the checkpoint was in the key) the version's key and
 * a model-info.yaml naming this checkpoint. An open commit of this version number is a crashed attempt's
 * (it blocks the branch): it is taken over and rewritten.
 */
async function findPublished(clients: Clients, branch: Branch, version: ModelVersionRef): Promise<CommitInfo | null> {
  const key = publishKey(version);
  const sameVersion = versionKey(version.modelName, version.version);
  let info: CommitInfo;
  try {
    info = await clients.pachyderm.inspectCommit({ branch });
  } catch (err) {
    if (failureType(err) === ErrorType.NotFound) return null; // no branch yet
    throw err;
  }
  for (let depth = 0; depth < SEARCH_DEPTH; depth++) {
    const description = info.description ?? '';
    const open = !info.finishing && !info.finished;
    if (hasKey(description, key) || (hasKey(description, sameVersion) && open)) {
      // A commit finished with an error was abandoned: a new one is published in its place.
      return info.error ? null : info;
    }
    if (hasKey(description, sameVersion) && !info.error && (await publishesCheckpoint(clients, info.commit, version))) return info;
    const parent = info.parentCommit?.id;
    if (!parent) return null;
    info = await clients.pachyderm.inspectCommit({ repo: branch.repo, id: parent });
  }
  return null;
}

/** Whether a finished output commit's model-info.yaml names this version's checkpoint. */
async function publishesCheckpoint(clients: Clients, commit: Commit, version: ModelVersionRef): Promise<boolean> {
  try {
    let text = '';
    for await (const chunk of clients.pachyderm.getFile({ commit, path: MODEL_INFO_PATH })) text += chunk.toString('utf8');
    const info = parseModelInfo(text, `${MODEL_INFO_PATH} in ${commit.id}`);
    return info.checkpointUuid === version.checkpointUuid && info.registryVersion === version.version && info.name === version.modelName;
  } catch (err) {
    if (failureType(err) === ErrorType.NotFound || failureType(err) === ErrorType.InvalidModelInfo) return false;
    throw err;
  }
}

function isFinal(err: unknown, ctx: Context): boolean {
  if (err instanceof ApplicationFailure) return err.nonRetryable === true;
  return err instanceof CancelledFailure && (ctx.cancellationDetails?.cancelRequested ?? false);
}

/**
 * ` trace=<traceparent>` when this activity runs in a trace: the watcher hands it to the deployer with the
 * commit, so the rollout joins the training's trace (one trace per pipeline run).
 */
function traceOfThisRun(): string {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? ` trace=${carrier.traceparent}` : '';
}

function hasKey(description: string, key: string): boolean {
  return description === key || description.startsWith(`${key} `);
}

function parseCounts(description: string): { files: number; bytes: number } {
  const files = /\bfiles=(\d+)/.exec(description);
  const bytes = /\bbytes=(\d+)/.exec(description);
  return { files: files ? Number(files[1]) : 0, bytes: bytes ? Number(bytes[1]) : 0 };
}
