// replaceDetector: the deployment ends with exactly one drift (or outlier) detector, configured for the
// model just deployed: a different existing one is deleted first, an identical one is kept.
import type { DetectorOutcome, ReplaceDetectorInput } from '../common/types';
import { ErrorType } from '../common/errors';
import { Context } from '@temporalio/activity';
import type { Clients } from './clients';
import { countDetector } from './metrics';
import { failure, failureType } from './http/errors';
import type { DetectorConfigData, DetectorData } from './seldon/types';

export async function replaceDetector(clients: Clients, input: ReplaceDetectorInput): Promise<DetectorOutcome> {
  const outcome = await makeDetectorMatch(clients, input);
  const deployment = `${input.namespace}/${input.deploymentName}`;
  countDetector(deployment, input.kind, outcome.action ?? 'created');
  Context.current().log.info(`${input.kind} detector of ${deployment} ${outcome.action}`, { deployment, kind: input.kind, action: outcome.action });
  return outcome;
}

async function makeDetectorMatch(clients: Clients, input: ReplaceDetectorInput): Promise<DetectorOutcome> {
  const { kind, namespace, deploymentName } = input;
  const wanted = detectorBody(input);
  const existing = (await clients.seldon.listDetectors(kind, namespace, deploymentName)) ?? [];
  const same = existing.find((d) => d.name === wanted.name && sameConfig(d, wanted));
  let replaced = false;
  for (const detector of existing) {
    if (detector === same) continue;
    try {
      await clients.seldon.deleteDetector(kind, namespace, deploymentName, detector.name);
      replaced = true;
    } catch (err) {
      if (failureType(err) !== ErrorType.NotFound) throw err; // deleted meanwhile: fine
    }
  }
  if (same) return { name: wanted.name, replaced, action: 'kept' };
  try {
    await clients.seldon.createDetector(kind, namespace, deploymentName, wanted);
  } catch (err) {
    // Created by an earlier attempt whose answer was lost: nothing was created now.
    if (/already exists/i.test((err as Error).message)) return { name: wanted.name, replaced, action: 'kept' };
    if (failureType(err) === ErrorType.BadRequest || failureType(err) === ErrorType.NotFound) {
      throw failure(ErrorType.DeploymentFailed, `Seldon rejected the ${kind} detector of ${namespace}/${deploymentName}: ${(err as Error).message}`, true);
    }
    throw err;
  }
  return { name: wanted.name, replaced, action: replaced ? 'replaced' : 'created' };
}

/** The original's payload (snake_case, as Seldon Deploy spells it), from the pipeline's settings. */
function detectorBody(input: ReplaceDetectorInput): DetectorConfigData {
  const { kind, deploymentName, settings, modelInfo } = input;
  return {
    name: deploymentName,
    config: {
      basic: { storage_uri: settings.storageUri, drift_batch_size: String(settings.batchSize) },
      deployment: {
        model_name: modelInfo.name,
        event_type: `io.seldon.serving.inference.${kind}`,
        event_source: `io.seldon.serving.seldon-seldondeployment-${deploymentName}-${kind}`,
        reply_url: settings.replyUrl,
        protocol: settings.protocol,
        http_port: settings.httpPort,
        user_permission: settings.userPermission,
      },
    },
  };
}

function sameConfig(found: DetectorData, wanted: DetectorConfigData): boolean {
  const a = found.config;
  const b = wanted.config;
  if (!a) return false;
  const keys = <T extends object>(o: T) => Object.keys(o) as (keyof T)[];
  return (
    keys(b.basic).every((k) => String(a.basic?.[k]) === String(b.basic[k])) &&
    keys(b.deployment).every((k) => String(a.deployment?.[k]) === String(b.deployment[k]))
  );
}
