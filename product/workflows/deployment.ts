// Deploys one output commit (its model-info.yaml) to a Seldon deployment: steps 9 to 14 of the seed.
// Never leaves a broken deployment in place of a working one: a rollout that fails, does not become
// Available within readyTimeout (a workflow timer), or is cancelled at any step after it began is
// rolled back to what served before (the rollback's own wait bounded by readyTimeout too), and the run
// fails loudly (or ends cancelled).
import {
  ApplicationFailure,
  defineQuery,
  setHandler,
  upsertSearchAttributes,
  isCancellation,
  CancellationScope,
  CancelledFailure,
  workflowInfo,
  log,
} from '@temporalio/workflow';
import type { DeploymentSettings, RepoRef } from '../common/pipeline';
import type { DeployedModel, ModelInfo } from '../common/types';
import { ErrorType } from '../common/errors';
import { CtCommit, CtDeploymentName, CtModelName, CtModelVersion, CtPipeline, CtRepo } from '../common/search-attributes';
import { durationToMs } from '../common/duration';
import { quick, quickHeartbeating, quickLocal, deploymentWaiter } from './activities';
import { cancelRequested, endCancelledWhenAsked } from './cancellation';
import { DeadlineExpired, withDeadline } from './deadline';
import { StepTracker, type StepRecord } from './steps';
import { countDeployment, countRollback } from './metrics';

export interface DeploymentInput {
  deployment: DeploymentSettings;
  /** The output repo holding the model commits. */
  output: RepoRef;
  outputCommit: string;
  /** Why: `cascade` (a new model commit), `manual` (redeploy or roll back by hand). */
  reason: 'cascade' | 'manual';
}

export type DeploymentResult =
  | { status: 'deployed'; outputCommit: string; modelInfo: ModelInfo; previous: DeployedModel | null }
  | { status: 'skipped'; outputCommit: string; reason: string }
  | { status: 'rolled-back'; outputCommit: string; error: string; restored: DeployedModel };

export interface DeploymentStatus {
  outputCommit: string;
  step: string | null;
  steps: StepRecord[];
  result: DeploymentResult | null;
}

export const deploymentStatusQuery = defineQuery<DeploymentStatus>('status');

export async function deploymentWorkflow(input: DeploymentInput): Promise<DeploymentResult> {
  const { pipeline, deployment } = metricTags(input);
  try {
    const result = await endCancelledWhenAsked(() => deploy(input));
    countDeployment(pipeline, deployment, result.status);
    return result;
  } catch (err) {
    countDeployment(pipeline, deployment, isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
}

/** The pipeline (the CtPipeline its deployer started it with; none for manual starts) and the deployment. */
function metricTags(input: DeploymentInput): { pipeline: string; deployment: string } {
  const pipeline = workflowInfo().typedSearchAttributes.get(CtPipeline) ?? 'unknown';
  return { pipeline, deployment: `${input.deployment.namespace}/${input.deployment.name}` };
}

async function deploy(input: DeploymentInput): Promise<DeploymentResult> {
  const { deployment, outputCommit } = input;
  const target = { deploymentName: deployment.name, namespace: deployment.namespace };
  const where = `${deployment.namespace}/${deployment.name}`;
  const steps = new StepTracker(`deploy ${input.output.repo}@${outputCommit} to ${deployment.namespace}/${deployment.name}`);
  let result: DeploymentResult | null = null;
  setHandler(deploymentStatusQuery, () => ({ outputCommit, step: steps.current, steps: steps.steps, result }));
  upsertSearchAttributes([
    { key: CtRepo, value: input.output.repo },
    { key: CtCommit, value: outputCommit },
    { key: CtDeploymentName, value: deployment.name },
  ]);

  const describeInfo = (m: ModelInfo) => `${m.name} version ${m.registryVersion} trained on ${m.version}`;
  const describeDeployed = (d: DeployedModel | null) =>
    d ? `serving ${d.modelName} version ${d.registryVersion} (${d.state})` : 'nothing deployed yet';
  const upsertModel = (m: ModelInfo) =>
    upsertSearchAttributes([
      { key: CtModelName, value: m.name },
      { key: CtModelVersion, value: m.registryVersion },
    ]);
  // Two independent reads: both at once, as local activities, in the first workflow task.
  const [modelInfo, current] = await steps.all([
    () =>
      steps.run(
        'read-model-info',
        () => quickLocal.readModelInfo.executeWithOptions({ summary: `read model-info.yaml of ${input.output.repo}@${outputCommit}` }, [{ repo: input.output, commit: outputCommit }]),
        describeInfo,
      ),
    () => steps.run('read-deployed', () => quickLocal.getDeployedModel.executeWithOptions({ summary: `what ${where} serves` }, [target]), describeDeployed),
  ] as const);
  upsertModel(modelInfo);
  const gateReason = promotionGateRejects(deployment, modelInfo, current);
  if (gateReason) {
    result = { status: 'skipped', outputCommit, reason: gateReason };
    steps.finish('skipped');
    return result;
  }

  const waitReady = deploymentWaiter(deployment);
  const readyTimeoutMs = durationToMs(deployment.readyTimeout);
  let previous = current;
  let failedStep: 'rollout' | 'detectors' = 'rollout';
  try {
    const rollout = await steps.run(
      'deploy',
      () =>
        quickHeartbeating.deployModel.executeWithOptions({ summary: `roll out ${modelInfo.name} version ${modelInfo.registryVersion} to ${where}` }, [
          { deployment, modelInfo, outputCommit },
        ]),
      (r) => (r.changed ? `applied (${deployment.strategy})` : 'already applied'),
    );
    previous = rollout.previous ?? current;
    await steps.run('wait-ready', () => waitUntilReady(waitReady, target, deployment.readyTimeout, readyTimeoutMs, rollout.resourceVersion), () => 'Available');

    failedStep = 'detectors';
    const detectors = (['drift', 'outlier'] as const).flatMap((kind) => {
      const settings = deployment[kind];
      if (!settings) return [];
      return [
        () =>
          steps.run(
            `${kind}-detector`,
            () => quick.replaceDetector.executeWithOptions({ summary: `${kind} detector of ${where}` }, [{ kind, ...target, settings, modelInfo }]),
            // Results of older workers have no action: they never said "kept".
            (d) => `${d.name} ${d.action ?? (d.replaced ? 'replaced' : 'created')}`,
          ),
      ];
    });
    // The two detectors are independent resources: replace them at once.
    await steps.all(detectors);
    // A cancel that arrived while they ran (they do not hear it) still undoes the rollout.
    if (cancelRequested()) throw new CancelledFailure('cancelled during the detectors');
  } catch (err) {
    // A detector that cannot be replaced leaves the new model serving (it is Available); a cancel at any
    // step, or a rollout that failed, puts back what served before.
    const rollBackNeeded = isCancellation(err) || failedStep === 'rollout';
    if (!rollBackNeeded || !previous || previous.outputCommit === outputCommit) {
      steps.finish(isCancellation(err) ? 'cancelled' : 'failed');
      throw err;
    }
    // Put back what served before, even though this run may be being cancelled meanwhile.
    const restoredFrom = previous;
    const restored = await CancellationScope.nonCancellable(() => rollBack(steps, input, restoredFrom, waitReady, readyTimeoutMs));
    const error = isCancellation(err) ? 'cancelled' : rootMessage(err);
    result = { status: 'rolled-back', outputCommit, error, restored };
    steps.finish(isCancellation(err) ? 'cancelled, rolled back' : 'rolled-back');
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: ErrorType.DeploymentFailed,
      nonRetryable: true,
      message: `deployment of ${modelInfo.name} version ${modelInfo.registryVersion} failed (${error}); rolled back to version ${restored.registryVersion}`,
      details: [result],
    });
  }

  result = { status: 'deployed', outputCommit, modelInfo, previous };
  steps.finish('done');
  return result;
}

type Waiter = ReturnType<typeof deploymentWaiter>;

/** Waits until the deployment is Available, bounded by a workflow timer of readyTimeout. */
/** Waits, within readyTimeout, for the status Seldon writes after the deploy that answered `afterResourceVersion`. */
async function waitUntilReady(
  waitReady: Waiter,
  target: { deploymentName: string; namespace: string },
  readyTimeout: string,
  readyTimeoutMs: number,
  afterResourceVersion: string | undefined,
): Promise<void> {
  try {
    await withDeadline(readyTimeoutMs, () =>
      waitReady.executeWithOptions({ summary: `wait until ${target.namespace}/${target.deploymentName} is Available` }, [
        { ...target, timeout: readyTimeout, pollInterval: '2s', afterResourceVersion },
      ]),
    );
  } catch (err) {
    if (!(err instanceof DeadlineExpired)) throw err;
    throw ApplicationFailure.create({
      type: ErrorType.DeploymentFailed,
      nonRetryable: true,
      message: `${target.namespace}/${target.deploymentName} did not become Available within readyTimeout ${readyTimeout}`,
    });
  }
}

async function rollBack(
  steps: StepTracker,
  input: DeploymentInput,
  previous: DeployedModel,
  waitReady: Waiter,
  readyTimeoutMs: number,
): Promise<DeployedModel> {
  const { deployment } = input;
  const target = { deploymentName: deployment.name, namespace: deployment.namespace };
  const where = `${deployment.namespace}/${deployment.name}`;
  const previousInfo = await steps.run('rollback-read-model-info', () =>
    quick.readModelInfo.executeWithOptions({ summary: `read model-info.yaml of ${input.output.repo}@${previous.outputCommit} (rollback)` }, [
      { repo: input.output, commit: previous.outputCommit },
    ]),
  );
  log.warn(`rolling ${where} back to ${previous.modelName} version ${previous.registryVersion}`, {
    deployment: where,
    pipeline: metricTags(input).pipeline,
    failedCommit: input.outputCommit,
    restoredCommit: previous.outputCommit,
  });
  const restored = await steps.run('rollback-deploy', () =>
    quickHeartbeating.deployModel.executeWithOptions({ summary: `roll ${where} back to ${previous.modelName} version ${previous.registryVersion}` }, [
      { deployment, modelInfo: previousInfo, outputCommit: previous.outputCommit },
    ]),
  );
  // Waits for the rollback's own write: right after it, the status still shows the failed rollout.
  await steps.run('rollback-wait-ready', () => waitUntilReady(waitReady, target, deployment.readyTimeout, readyTimeoutMs, restored.resourceVersion));
  const tags = metricTags(input);
  countRollback(tags.pipeline, tags.deployment);
  return previous;
}

/**
 * With the gate on, a version deploys only when its metric beats the deployed one's; a version without a
 * metric never passes as better than one with.
 */
function promotionGateRejects(deployment: DeploymentSettings, info: ModelInfo, current: DeployedModel | null): string | null {
  if (!deployment.promotionGate || !current || current.state !== 'Available') return null;
  if (info.metric === null && current.metric !== null) {
    return `promotion gate: ${info.name} version ${info.registryVersion} has no ${info.searcherMetric ?? 'searcher metric'} to compare with the deployed version's ${current.metric}`;
  }
  if (info.metric === null || current.metric === null) return null;
  const better = info.smallerIsBetter ? info.metric < current.metric : info.metric > current.metric;
  return better
    ? null
    : `promotion gate: ${info.searcherMetric ?? 'metric'} ${info.metric} does not beat the deployed version's ${current.metric}`;
}

/** The innermost message: an ActivityFailure says only "Activity task failed"; its cause says why. */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
