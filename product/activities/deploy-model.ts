// deployModel: applies the SeldonDeployment serving a model version. `replace` updates it in place
// (Seldon keeps the old pods serving until the new ones are ready); `delete-first` is the original's
// delete-then-create. A retry that finds the version already applied changes nothing.
import { Context } from '@temporalio/activity';
import type { DeployModelInput, DeployResult } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { failure, failureType } from './http/errors';
import { readDeployment } from './get-deployed-model';
import { buildSeldonDeployment, deployedModelOf, previousOf } from './seldon/deployment-resource';
import type { SeldonDeployment } from './seldon/types';

/** How long delete-first waits for the old deployment to disappear. */
const DELETE_WAIT_MS = 60_000;
const DELETE_POLL_MS = 500;

export async function deployModel(clients: Clients, input: DeployModelInput): Promise<DeployResult> {
  const { deployment, modelInfo } = input;
  const { namespace, name } = deployment;
  const current = await readDeployment(clients, namespace, name);
  const deployed = current ? deployedModelOf(current) : null;
  const result = { deploymentName: name, namespace };

  if (current && deployed && sameModel(deployed, input)) {
    // Already applied (e.g. by an attempt whose answer was lost): report what it replaced.
    return { ...result, previous: previousOf(current), changed: false };
  }

  const body = buildSeldonDeployment(deployment, modelInfo, input.outputCommit, deployed);
  try {
    if (current && deployment.strategy === 'delete-first') {
      await clients.seldon.deleteSeldonDeployment(namespace, name).catch((err: unknown) => {
        if (failureType(err) !== ErrorType.NotFound) throw err; // already gone: fine
      });
      await waitUntilGone(clients, namespace, name);
      await create(clients, body);
    } else if (current) {
      await clients.seldon.updateSeldonDeployment(namespace, name, body);
    } else {
      await create(clients, body);
    }
  } catch (err) {
    throw asDeploymentFailed(err, `${namespace}/${name}`);
  }
  return { ...result, previous: deployed, changed: true };
}

function sameModel(deployed: { modelName: string; registryVersion: number; version: string }, input: DeployModelInput): boolean {
  return (
    deployed.modelName === input.modelInfo.name &&
    deployed.registryVersion === input.modelInfo.registryVersion &&
    deployed.version === input.modelInfo.version
  );
}

/** Creates, or updates when it exists already (a concurrent or crashed attempt created it). */
async function create(clients: Clients, body: SeldonDeployment): Promise<void> {
  const { namespace, name } = body.metadata;
  try {
    await clients.seldon.createSeldonDeployment(namespace, body);
  } catch (err) {
    if (!/already exists/i.test((err as Error).message)) throw err;
    await clients.seldon.updateSeldonDeployment(namespace, name, body);
  }
}

async function waitUntilGone(clients: Clients, namespace: string, name: string): Promise<void> {
  const ctx = Context.current();
  const deadline = Date.now() + DELETE_WAIT_MS;
  while (await readDeployment(clients, namespace, name)) {
    if (Date.now() > deadline) throw failure(ErrorType.Unavailable, `${namespace}/${name} still exists ${DELETE_WAIT_MS} ms after its deletion`, false);
    ctx.heartbeat({ phase: 'waiting-for-delete' });
    await ctx.sleep(DELETE_POLL_MS);
  }
}

/** Seldon refusing the resource (4xx other than auth) will refuse it again: DeploymentFailed, not retried. */
function asDeploymentFailed(err: unknown, where: string): unknown {
  const type = failureType(err);
  if (type === ErrorType.BadRequest || type === ErrorType.NotFound) {
    return failure(ErrorType.DeploymentFailed, `Seldon rejected the deployment ${where}: ${(err as Error).message}`, true);
  }
  return err;
}
