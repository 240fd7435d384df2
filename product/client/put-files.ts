// `ct put` (and the demo): commits files into a Pachyderm repo as one commit, over pachd's REST gateway,
// with the same client the activities use. A failed upload never leaves its commit open: an open commit
// would block every later commit to the branch ("parent commit ... has not been finished").
import fs from 'node:fs';
import { encodeAddFile, type PachydermClient } from '../activities/pachyderm/client';
import { repoOf, type Commit, type ModifyFileRequest } from '../activities/pachyderm/types';
import { ErrorType } from '../common/errors';

/** A file's content: bytes in memory, or a local file streamed from disk. */
export type FileSource = Buffer | { localPath: string };

export interface PutFilesInput {
  project?: string;
  repo: string;
  branch: string;
  /** Pachyderm path → content. */
  files: Record<string, FileSource>;
  /** Paths to delete in the same commit. */
  deletes?: string[];
  description?: string;
  /** Create the repo when it does not exist (the demo); `ct put` expects it to exist unless told. */
  createRepo?: boolean;
}

const CHUNK = 1024 * 1024;

/** Commits the files and waits until the commit is finished; returns its id. */
export async function putFiles(client: PachydermClient, input: PutFilesInput): Promise<string> {
  const repo = repoOf(input.project ?? 'default', input.repo);
  if (input.createRepo) {
    try {
      await client.createRepo(repo);
    } catch (err) {
      if ((err as { type?: string }).type !== ErrorType.BadRequest || !/already exists/i.test((err as Error).message)) throw err;
    }
  }
  const description = input.description ?? `ct put: ${Object.keys(input.files).length} files`;
  const commit: Commit = { repo, id: (await client.startCommit({ repo, name: input.branch }, description)).id };
  try {
    await client.modifyFile(modifications(commit, input));
    await client.finishCommit(commit);
  } catch (err) {
    // Finished as failed: pachd skips its content, and the branch takes new commits again.
    await client.finishCommit(commit, undefined, `upload failed: ${(err as Error).message}`, true).catch(() => undefined);
    throw err;
  }
  await client.inspectCommit(commit, 'FINISHED');
  return commit.id as string;
}

async function* modifications(commit: Commit, input: PutFilesInput): AsyncGenerator<ModifyFileRequest | Buffer> {
  yield { setCommit: commit };
  for (const path of input.deletes ?? []) yield { deleteFile: { path } };
  for (const [path, source] of Object.entries(input.files)) {
    yield { deleteFile: { path } }; // overwrite, not append
    let empty = true;
    for await (const chunk of chunks(source)) {
      empty = false;
      yield encodeAddFile(path, chunk);
    }
    if (empty) yield encodeAddFile(path, Buffer.alloc(0));
  }
}

async function* chunks(source: FileSource): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(source)) {
    for (let i = 0; i < source.length; i += CHUNK) yield source.subarray(i, i + CHUNK);
    return;
  }
  for await (const chunk of fs.createReadStream(source.localPath, { highWaterMark: CHUNK })) yield chunk as Buffer;
}
