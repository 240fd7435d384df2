// `ct put`: commits local files into a Pachyderm repo as one commit, over the REST gateway
// (the emulated pachd or a real one).
import fs from 'node:fs';
import { putFiles as putFilesRest } from '../emulators/pachyderm/client';

export interface PutFilesInput {
  url: string;
  token?: string;
  project: string;
  repo: string;
  branch: string;
  /** Pachyderm path → local file. */
  files: Record<string, string>;
}

export async function putFiles(input: PutFilesInput): Promise<string> {
  const contents: Record<string, Buffer> = {};
  for (const [dest, local] of Object.entries(input.files)) contents[dest] = fs.readFileSync(local);
  return putFilesRest({ url: input.url, authToken: input.token }, input.repo, input.branch, contents, {
    project: input.project,
    description: `ct put: ${Object.keys(contents).length} files`,
  });
}
