// waitForDeploymentReady: polls the SeldonDeployment until Seldon reports it Available for the deploy it
// waits for. Failed, a vanished deployment or the timeout are final (the workflow rolls back).
import { Context } from '@temporalio/activity';
import type { WaitDeploymentReadyInput } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { durationMs } from './duration';
import { failure, failureType } from './http/errors';
import { readDeployment } from './get-deployed-model';
import { previousHeartbeat } from './heartbeat';
import type { SeldonDeployment, SeldonDeploymentStatus } from './seldon/types';

interface ReadyHeartbeat {
  deployment: string;
  /** When the first attempt started waiting: retries do not restart the timeout. */
  startedAt: number;
  state: string;
}

export async function waitForDeploymentReady(clients: Clients, input: WaitDeploymentReadyInput): Promise<{ state: 'Available' }> {
  const ctx = Context.current();
  const where = `${input.namespace}/${input.deploymentName}`;
  const timeoutMs = durationMs(input.timeout, 'timeout');
  const pollMs = durationMs(input.pollInterval, 'pollInterval');
  const resumed = previousHeartbeat<ReadyHeartbeat>((d) => d.deployment === where && typeof d.startedAt === 'number');
  const startedAt = resumed?.startedAt ?? Date.now();

  for (;;) {
    let sdep: Awaited<ReturnType<typeof readDeployment>>;
    try {
      sdep = await readDeployment(clients, input.namespace, input.deploymentName);
    } catch (err) {
      // One poll answered 5xx/429 or timed out: that says nothing about the rollout, and failing the
      // attempt would spend one of the waiter's three attempts. Poll again, still bounded by the timeout.
      if (failureType(err) !== ErrorType.Unavailable || Date.now() - startedAt >= timeoutMs) throw err;
      ctx.heartbeat({ deployment: where, startedAt, state: 'Unknown' } satisfies ReadyHeartbeat);
      await ctx.sleep(Math.min(pollMs, Math.max(0, timeoutMs - (Date.now() - startedAt))));
      continue;
    }
    if (!sdep) throw failure(ErrorType.DeploymentFailed, `deployment ${where} does not exist`, true);
    const status: Partial<SeldonDeploymentStatus> = sdep.status ?? {};
    // A status from before the deploy (what an update answers and shows until the controller catches up)
    // says nothing about the new spec: neither its Available nor its Failed counts.
    const current = statusIsCurrent(sdep, input.afterResourceVersion);
    const state = status.state ?? 'Unknown';
    ctx.heartbeat({ deployment: where, startedAt, state: current ? state : `${state} (from before the deploy)` } satisfies ReadyHeartbeat);
    if (current && state === 'Available') return { state: 'Available' };
    if (current && state === 'Failed') {
      throw failure(ErrorType.DeploymentFailed, `deployment ${where} failed: ${status.description || 'no description'}`, true);
    }
    const elapsed = Date.now() - startedAt;
    if (elapsed >= timeoutMs) {
      const seen = current ? `state ${state}${status.description ? `: ${status.description}` : ''}` : 'its status was never updated after the deploy';
      throw failure(ErrorType.DeploymentFailed, `deployment ${where} not Available after ${input.timeout} (${seen})`, true);
    }
    await ctx.sleep(Math.min(pollMs, timeoutMs - elapsed));
  }
}

/**
 * Whether the status is about the spec the awaited deploy wrote. `status.observedGeneration` says so when it is
 * there, but Seldon Core v1 never writes it; then the deploy's own write is the mark: the controller's status
 * writes change the resourceVersion, and one that succeeds after the deploy was computed from it (Kubernetes
 * refuses a status update based on an older version). Without either, the status is all there is.
 */
export function statusIsCurrent(sdep: SeldonDeployment, afterResourceVersion: string | undefined): boolean {
  const observed = sdep.status?.observedGeneration;
  const generation = sdep.metadata.generation;
  if (observed !== undefined && generation !== undefined) return observed >= generation;
  if (afterResourceVersion !== undefined) return sdep.metadata.resourceVersion !== afterResourceVersion;
  return true;
}
