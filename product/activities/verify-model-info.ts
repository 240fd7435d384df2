// The model info of an output commit checked against the registry before anything is deployed: an
// output commit can be edited by hand, and Seldon would serve whatever it names. The model must exist,
// with the version named, registered from the checkpoint named.
import type { ModelInfo } from '../common/types';
import { ErrorType } from '../common/errors';
import type { DeterminedClient } from './determined/client';
import { failure, failureType } from './http/errors';

export async function verifyModelInfo(determined: DeterminedClient, info: ModelInfo, where: string): Promise<void> {
  const invalid = (problem: string) =>
    failure(ErrorType.InvalidModelInfo, `${where} does not match the model registry: ${problem}; refusing to deploy it`, true);
  let registered;
  try {
    registered = (await determined.getModelVersion(info.name, info.registryVersion)).modelVersion;
  } catch (err) {
    if (failureType(err) !== ErrorType.NotFound) throw err;
    const modelExists = await determined.getModel(info.name).then(
      () => true,
      (e: unknown) => (failureType(e) === ErrorType.NotFound ? false : Promise.reject(e)),
    );
    throw invalid(modelExists ? `model ${info.name} has no version ${info.registryVersion}` : `there is no model named ${info.name}`);
  }
  if (registered.model?.name !== undefined && registered.model.name !== info.name) {
    throw invalid(`version ${info.registryVersion} belongs to model ${registered.model.name}, not ${info.name}`);
  }
  if (registered.checkpoint?.uuid !== info.checkpointUuid) {
    throw invalid(`${info.name} version ${info.registryVersion} is checkpoint ${registered.checkpoint?.uuid}, not ${info.checkpointUuid}`);
  }
}
