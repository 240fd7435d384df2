// readModelInfo: reads model-info.yaml from an output commit and checks it, against the registry too.
import type { ModelInfo, ReadModelInfoInput } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { failure, failureType } from './http/errors';
import { MODEL_INFO_PATH, parseModelInfo } from './model-info';
import { repoOf } from './pachyderm/types';
import { verifyModelInfo } from './verify-model-info';

/** model-info.yaml is a few hundred bytes; anything this big is not one. */
const MAX_MODEL_INFO_BYTES = 1024 * 1024;

export async function readModelInfo(clients: Clients, input: ReadModelInfoInput): Promise<ModelInfo> {
  const where = `${MODEL_INFO_PATH} in ${input.repo.project}/${input.repo.repo}@${input.commit}`;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    const file = { commit: { repo: repoOf(input.repo.project, input.repo.repo), id: input.commit }, path: MODEL_INFO_PATH };
    for await (const chunk of clients.pachyderm.getFile(file)) {
      size += chunk.length;
      if (size > MAX_MODEL_INFO_BYTES) throw failure(ErrorType.InvalidModelInfo, `${where} is larger than ${MAX_MODEL_INFO_BYTES} bytes`, true);
      chunks.push(chunk);
    }
  } catch (err) {
    if (failureType(err) === ErrorType.NotFound) throw failure(ErrorType.InvalidModelInfo, `${where} does not exist: ${(err as Error).message}`, true);
    throw err;
  }
  const info = parseModelInfo(Buffer.concat(chunks).toString('utf8'), where);
  await verifyModelInfo(clients.determined, info, where);
  return info;
}
