// deployModel: applies the SeldonDeployment serving a model version. `replace` updates it in place
// (Seldon keeps the old pods serving until the new ones are ready); `delete-first` is the original's
// delete-then-create. A retry that finds the version already applied changes nothing. The result carries
// the resourceVersion written, which the readiness wait needs (Seldon publishes no observedGeneration).
import { Context } from '@temporalio/activity';
import type { DeploymentSettings, DeployModelInput, DeployResult } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { failure, failureStatus, failureType } from './http/errors';
import { readDeployment } from './get-deployed-model';
import { buildSeldonDeployment, deployedModelOf, previousOf } from './seldon/deployment-resource';
import type { SeldonDeployment } from './seldon/types';

/** How long delete-first waits for the old deployment to disappear. */
const DELETE_WAIT_MS = 60_000;
const DELETE_POLL_MS = 500;
/** Conflicts (409) re-read and re-applied within one attempt; past that the activity's retry takes over. */
const CONFLICT_ATTEMPTS = 3;

export async function deployModel(clients: Clients, input: DeployModelInput): Promise<DeployResult> {
  const { deployment, modelInfo } = input;
  const { namespace, name } = deployment;
  const result = { deploymentName: name, namespace };
  for (let attempt = 1; ; attempt++) {
    const current = await readDeployment(clients, namespace, name);
    const deployed = current ? deployedModelOf(current) : null;
    if (current && deployed && sameModel(deployed, input)) {
      // Already applied (e.g. by an attempt whose answer was lost): report what it replaced.
      Context.current().log.info(`${namespace}/${name} already serves ${modelInfo.name} version ${modelInfo.registryVersion}: kept`, {
        deployment: `${namespace}/${name}`,
        version: modelInfo.registryVersion,
      });
      return { ...result, previous: previousOf(current), changed: false };
    }
    const body = buildSeldonDeployment(deployment, modelInfo, input.outputCommit, deployed);
    try {
      const written = await apply(clients, deployment.strategy, current, body);
      Context.current().log.info(
        `${namespace}/${name} ${deployed ? `replaced: version ${deployed.registryVersion} → ${modelInfo.registryVersion}` : `created with version ${modelInfo.registryVersion}`} (${deployment.strategy})`,
        { deployment: `${namespace}/${name}`, version: modelInfo.registryVersion, previousVersion: deployed?.registryVersion ?? null, strategy: deployment.strategy },
      );
      return { ...result, previous: deployed, changed: true, resourceVersion: written.metadata.resourceVersion };
    } catch (err) {
      // 409: the resource changed since it was read (the controller wrote its status, or a concurrent attempt
      // created it): read it again and re-apply.
      if (failureStatus(err) !== 409) throw asDeploymentFailed(err, `${namespace}/${name}`);
      if (attempt >= CONFLICT_ATTEMPTS) {
        throw failure(ErrorType.Unavailable, `${namespace}/${name} kept changing while it was being updated (${attempt} conflicts): ${(err as Error).message}`, false);
      }
    }
  }
}

/**
 * Writes the resource. An update carries the resourceVersion the resource was read at: Kubernetes refuses an
 * update of a custom resource without one (422), and one that is stale (409).
 */
async function apply(clients: Clients, strategy: DeploymentSettings['strategy'], current: SeldonDeployment | null, body: SeldonDeployment): Promise<SeldonDeployment> {
  const { namespace, name } = body.metadata;
  if (!current) return clients.seldon.createSeldonDeployment(namespace, body);
  if (strategy === 'delete-first') {
    await clients.seldon.deleteSeldonDeployment(namespace, name).catch((err: unknown) => {
      if (failureType(err) !== ErrorType.NotFound) throw err; // already gone: fine
    });
    await waitUntilGone(clients, namespace, name);
    return clients.seldon.createSeldonDeployment(namespace, body);
  }
  const resourceVersion = current.metadata.resourceVersion;
  return clients.seldon.updateSeldonDeployment(namespace, name, { ...body, metadata: { ...body.metadata, resourceVersion } });
}

function sameModel(deployed: { modelName: string; registryVersion: number; version: string }, input: DeployModelInput): boolean {
  return (
    deployed.modelName === input.modelInfo.name &&
    deployed.registryVersion === input.modelInfo.registryVersion &&
    deployed.version === input.modelInfo.version
  );
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
