// lookupModel: NOT a pure read. It ensures the registry model exists (creating it, with the pipeline's
// labels, when missing, as the original did: the first training's version needs it) and returns its
// latest version, if any. Idempotent: creating an existing model is a no-op. It runs as a local activity
// (a write is allowed there: a retried or replayed call creates nothing twice).
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
