// Deploys one output commit (its model-info.yaml) to a Seldon deployment: steps 9 to 14 of the seed.
// Never leaves a broken deployment in place of a working one: a rollout that fails is rolled back to
// what served before, and the run fails loudly.
import {
  ApplicationFailure,
  defineQuery,
  setHandler,
  upsertSearchAttributes,
  isCancellation,
  CancellationScope,
  patched,
} from '@temporalio/workflow';
import type { DeploymentSettings, RepoRef } from '../common/pipeline';
import type { DeployedModel, ModelInfo } from '../common/types';
import { ErrorType } from '../common/errors';
import { CtCommit, CtDeploymentName, CtModelName, CtModelVersion, CtRepo } from '../common/search-attributes';
import { quick, quickLocal, streaming, deploymentWaiter } from './activities';
import { DEPLOYMENT_READS_LOCAL, DETECTORS_CONCURRENT, GATE_REFUSES_MISSING_METRIC } from './patches';
import { StepTracker, type StepRecord } from './steps';

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
  const { deployment, outputCommit } = input;
  const target = { deploymentName: deployment.name, namespace: deployment.namespace };
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
  let modelInfo: ModelInfo;
  let current: DeployedModel | null;
  if (patched(DEPLOYMENT_READS_LOCAL)) {
    // Two independent reads: both at once, as local activities, in the first workflow task.
    [modelInfo, current] = await steps.all([
      () => steps.run('read-model-info', () => quickLocal.readModelInfo({ repo: input.output, commit: outputCommit }), describeInfo),
      () => steps.run('read-deployed', () => quickLocal.getDeployedModel(target), describeDeployed),
    ] as const);
    upsertModel(modelInfo);
  } else {
    // Runs started before DEPLOYMENT_READS_LOCAL: one activity after the other, as recorded.
    modelInfo = await steps.run('read-model-info', () => quick.readModelInfo({ repo: input.output, commit: outputCommit }), describeInfo);
    upsertModel(modelInfo);
    current = await steps.run('read-deployed', () => quick.getDeployedModel(target), describeDeployed);
  }
  const gateReason = promotionGateRejects(deployment, modelInfo, current);
  if (gateReason) {
    result = { status: 'skipped', outputCommit, reason: gateReason };
    steps.finish('skipped');
    return result;
  }

  const waitReady = deploymentWaiter(deployment);
  const rollout = await steps.run(
    'deploy',
    () => quick.deployModel({ deployment, modelInfo, outputCommit }),
    (r) => (r.changed ? `applied (${deployment.strategy})` : 'already applied'),
  );
  const previous = rollout.previous ?? current;
  try {
    await steps.run(
      'wait-ready',
      () => waitReady({ ...target, timeout: deployment.readyTimeout, pollInterval: '2s' }),
      () => 'Available',
    );
  } catch (err) {
    if (isCancellation(err) || !previous || previous.outputCommit === outputCommit) throw err;
    // Put back what served before, even if this run is being cancelled meanwhile.
    const restored = await CancellationScope.nonCancellable(() => rollBack(steps, input, previous));
    const error = rootMessage(err);
    result = { status: 'rolled-back', outputCommit, error, restored };
    steps.finish('rolled-back');
    throw ApplicationFailure.create({
      type: ErrorType.DeploymentFailed,
      nonRetryable: true,
      message: `deployment of ${modelInfo.name} version ${modelInfo.registryVersion} failed (${error}); rolled back to version ${restored.registryVersion}`,
      details: [result],
    });
  }

  const detectors = (['drift', 'outlier'] as const).flatMap((kind) => {
    const settings = deployment[kind];
    if (!settings) return [];
    return [
      () =>
        steps.run(
          `${kind}-detector`,
          () => quick.replaceDetector({ kind, ...target, settings, modelInfo }),
          (d) => `${d.name} ${d.replaced ? 'replaced' : 'created'}`,
        ),
    ];
  });
  if (detectors.length && patched(DETECTORS_CONCURRENT)) {
    // The two detectors are independent resources: replace them at once.
    await steps.all(detectors);
  } else {
    // Runs started before DETECTORS_CONCURRENT: one after the other, as recorded.
    for (const replace of detectors) await replace();
  }

  result = { status: 'deployed', outputCommit, modelInfo, previous };
  steps.finish('done');
  return result;
}

async function rollBack(steps: StepTracker, input: DeploymentInput, previous: DeployedModel): Promise<DeployedModel> {
  const { deployment } = input;
  const previousInfo = await steps.run('rollback-read-model-info', () =>
    quick.readModelInfo({ repo: input.output, commit: previous.outputCommit }),
  );
  await steps.run('rollback-deploy', () =>
    quick.deployModel({ deployment, modelInfo: previousInfo, outputCommit: previous.outputCommit }),
  );
  await steps.run('rollback-wait-ready', () =>
    streaming.waitForDeploymentReady({
      deploymentName: deployment.name,
      namespace: deployment.namespace,
      timeout: deployment.readyTimeout,
      pollInterval: '2s',
    }),
  );
  return previous;
}

/**
 * With the gate on, a version deploys only when its metric beats the deployed one's. Since
 * GATE_REFUSES_MISSING_METRIC a version without a metric never passes as better (before, it skipped the gate).
 */
function promotionGateRejects(deployment: DeploymentSettings, info: ModelInfo, current: DeployedModel | null): string | null {
  if (!deployment.promotionGate || !current || current.state !== 'Available') return null;
  if (info.metric === null && current.metric !== null && patched(GATE_REFUSES_MISSING_METRIC)) {
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
