// The activities the workflows run: `createActivities(config)` builds the clients once per worker and
// returns the functions by the names the workflows proxy (common/activities.ts).
import type { Activities } from '../common/activities';
import type { ConnectionsConfig } from './config';
import { createClients } from './clients';
import { diffCommit } from './diff-commit';
import { fetchExperiment } from './fetch-experiment';
import { lookupModel } from './lookup-model';
import { submitExperiment } from './submit-experiment';
import { waitForExperiment } from './wait-for-experiment';
import { stopRunExperiments } from './stop-run-experiments';
import { registerModelVersion } from './register-model-version';
import { publishModel } from './publish-model';
import { readModelInfo } from './read-model-info';
import { getDeployedModel } from './get-deployed-model';
import { deployModel } from './deploy-model';
import { waitForDeploymentReady } from './wait-for-deployment-ready';
import { replaceDetector } from './replace-detector';

export type { ConnectionsConfig } from './config';
export { loadConnectionsConfig } from './config';

export function createActivities(config: ConnectionsConfig): Activities {
  const clients = createClients(config);
  return {
    diffCommit: (input) => diffCommit(clients, input),
    fetchExperiment: (input) => fetchExperiment(clients, input),
    lookupModel: (input) => lookupModel(clients, input),
    submitExperiment: (input) => submitExperiment(clients, input),
    waitForExperiment: (input) => waitForExperiment(clients, input),
    stopRunExperiments: (input) => stopRunExperiments(clients, input),
    registerModelVersion: (input) => registerModelVersion(clients, input),
    publishModel: (input) => publishModel(clients, input),
    readModelInfo: (input) => readModelInfo(clients, input),
    getDeployedModel: (input) => getDeployedModel(clients, input),
    deployModel: (input) => deployModel(clients, input),
    waitForDeploymentReady: (input) => waitForDeploymentReady(clients, input),
    replaceDetector: (input) => replaceDetector(clients, input),
  };
}
