// SeldonDeployment status as Seldon Core's operator writes it, and Kubernetes-style metadata.
import type { Condition, DeploymentState, PredictorSpec, SeldonDeployment, SeldonDeploymentStatus } from './types';

/** RFC 3339 without fractions, as Kubernetes prints timestamps. */
export function kubeTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The predictor that takes the traffic (the largest non-shadow share, the first on a tie): the one the emulator runs. */
export function servedPredictor(predictors: PredictorSpec[]): PredictorSpec {
  const live = predictors.filter((p) => !p.shadow);
  const pool = live.length ? live : predictors;
  return pool.reduce((best, p) => ((p.traffic ?? 0) > (best.traffic ?? 0) ? p : best), pool[0]);
}

/** Public URL of a deployment's Seldon-protocol prediction endpoint on the emulator. */
export function predictionUrl(baseUrl: string, namespace: string, name: string): string {
  return `${baseUrl}/seldon/${namespace}/${name}/api/v1.0/predictions`;
}

function condition(previous: Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>): Condition {
  const before = previous?.find((c) => c.type === next.type);
  // lastTransitionTime only moves when the status itself changes, as in Kubernetes.
  const lastTransitionTime = before && before.status === next.status && before.lastTransitionTime ? before.lastTransitionTime : kubeTime();
  return { ...next, lastTransitionTime };
}

/**
 * The status for a state. `serving` says whether an older generation still answers predictions (rolling update, or
 * an update that failed), which keeps its services and replicas available.
 */
export function buildStatus(
  sdep: SeldonDeployment,
  state: DeploymentState,
  opts: { description?: string; serving: boolean; baseUrl: string },
): SeldonDeploymentStatus {
  const { name, namespace = 'default' } = sdep.metadata;
  const available = state === 'Available';
  const deploymentStatus: NonNullable<SeldonDeploymentStatus['deploymentStatus']> = {};
  const serviceStatus: NonNullable<SeldonDeploymentStatus['serviceStatus']> = {};
  let replicas = 0;
  for (const predictor of sdep.spec.predictors) {
    const count = predictor.replicas ?? (sdep.spec.replicas as number | undefined) ?? 1;
    replicas += count;
    const containers = (predictor.componentSpecs ?? []).flatMap((c) => (c.spec?.containers ?? []).map((x) => x.name));
    const depName = [name, predictor.name, '0', ...containers].join('-');
    deploymentStatus[depName] = {
      name: depName,
      status: state,
      replicas: count,
      availableReplicas: available || opts.serving ? count : 0,
      ...(state === 'Failed' && opts.description ? { description: opts.description } : {}),
    };
    const svcName = `${name}-${predictor.name}`;
    serviceStatus[svcName] = { svcName, httpEndpoint: `${svcName}.${namespace}:8000`, grpcEndpoint: `${svcName}.${namespace}:5001` };
  }
  const previous = sdep.status?.conditions;
  const deploymentsReady = available;
  const servicesReady = available || opts.serving;
  const conditions: Condition[] = [
    condition(previous, {
      type: 'DeploymentsReady',
      status: deploymentsReady ? 'True' : 'False',
      reason: deploymentsReady ? 'DeploymentsAvailable' : state === 'Failed' ? 'DeploymentsFailed' : 'DeploymentsNotReady',
      ...(deploymentsReady ? {} : { message: opts.description ?? 'Not all deployments are available' }),
    }),
    condition(previous, {
      type: 'ServicesReady',
      status: servicesReady ? 'True' : 'False',
      reason: servicesReady ? 'ServicesReady' : 'ServicesNotReady',
      ...(servicesReady ? {} : { message: 'Not all services are ready' }),
    }),
    condition(previous, {
      type: 'Ready',
      status: available ? 'True' : 'False',
      reason: available ? 'Ready' : state === 'Failed' ? 'Failed' : 'Creating',
      ...(available ? {} : { message: opts.description ?? 'Deployment is being created' }),
    }),
  ];
  return {
    state,
    ...(opts.description ? { description: opts.description } : {}),
    address: { url: predictionUrl(opts.baseUrl, namespace, name) },
    deploymentStatus,
    serviceStatus,
    conditions,
    // No observedGeneration: Seldon Core v1 never sets it (seldon_deployment_status.go inlines knative's
    // duck Status, and no operator code writes its ObservedGeneration), so it is absent on a real cluster too.
    replicas,
  };
}
