// lookupModel: the model (created when missing, like the original) and its latest version, if any.
import type { LookupModelInput, ModelVersionRef } from '../common/types';
import type { Clients } from './clients';
import type { ModelVersion } from './determined/types';
import { ensureModel, modelVersions, toModelVersionRef } from './model-registry';

export async function lookupModel(clients: Clients, input: LookupModelInput): Promise<ModelVersionRef | null> {
  await ensureModel(clients.determined, input);
  let latest: ModelVersion | null = null;
  for await (const v of modelVersions(clients.determined, input.modelName)) {
    if (!latest || v.version > latest.version) latest = v;
  }
  return latest ? toModelVersionRef(input.modelName, latest) : null;
}
