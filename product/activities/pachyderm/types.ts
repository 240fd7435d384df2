// The pfs_v2 messages this project uses, as the REST gateway spells them (protojson: camelCase,
// enum names, int64 as strings, bytes as base64).

export interface Project {
  name: string;
}

export interface Repo {
  name: string;
  type: 'user';
  project: Project;
}

export interface Branch {
  repo: Repo;
  name: string;
}

export interface Commit {
  repo?: Repo;
  id?: string;
  branch?: Branch;
}

export interface File {
  commit: Commit;
  path: string;
  datum?: string;
}

import type { CommitState } from '@continuous-training/api-types/pachyderm';

export type { CommitState };

export interface CommitInfo {
  commit: Commit;
  origin?: { kind?: string };
  description?: string;
  parentCommit?: Commit | null;
  childCommits?: Commit[];
  started?: string;
  finishing?: string | null;
  finished?: string | null;
  error?: string;
  sizeBytesUpperBound?: string;
}

export interface RepoInfo {
  repo: Repo;
  created?: string;
  description?: string;
}

export interface BranchInfo {
  branch: Branch;
  head?: Commit;
}

export type FileType = 'RESERVED' | 'FILE' | 'DIR';

export interface FileInfo {
  file: File;
  fileType: FileType;
  committed?: string;
  sizeBytes?: string;
  /** base64 */
  hash?: string;
}

export interface DiffFileResponse {
  newFile?: FileInfo | null;
  oldFile?: FileInfo | null;
}

/** One message of the client-streaming ModifyFile call. */
export type ModifyFileRequest =
  | { setCommit: Commit }
  | { addFile: { path: string; raw: string; datum?: string } }
  | { deleteFile: { path: string; datum?: string } };

export function repoOf(project: string, name: string): Repo {
  return { name, type: 'user', project: { name: project } };
}
