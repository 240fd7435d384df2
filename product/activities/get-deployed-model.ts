// getDeployedModel: what a SeldonDeployment serves now, from the annotations deployModel writes.
import type { DeployedModel } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { failureType } from './http/errors';
import { deployedModelOf } from './seldon/deployment-resource';
import type { SeldonDeployment } from './seldon/types';

export async function getDeployedModel(
  clients: Clients,
  input: { deploymentName: string; namespace: string },
): Promise<DeployedModel | null> {
  const sdep = await readDeployment(clients, input.namespace, input.deploymentName);
  return sdep ? deployedModelOf(sdep) : null;
}

/** The deployment, or null when there is none. */
export async function readDeployment(clients: Clients, namespace: string, name: string): Promise<SeldonDeployment | null> {
  try {
    return await clients.seldon.readSeldonDeployment(namespace, name);
  } catch (err) {
    if (failureType(err) === ErrorType.NotFound) return null;
    throw err;
  }
}
