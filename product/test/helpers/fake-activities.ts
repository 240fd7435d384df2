// An in-memory stand-in for the external systems, used only by the workflow tests: it lets them
// drive every branch of the orchestration (ERROR experiments, Failed deployments, bursts) quickly on
// the time-skipping server. The real activities are tested against the emulators in test/activities.
import { Context, CancelledFailure } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../common/activities';
import type { DeployedModel, DiffSummary, ExperimentState, ModelInfo, ModelVersionRef } from '../../common/types';
import { ErrorType } from '../../common/errors';

export interface FakeWorld {
  /** Every activity call, in order, as `name:detail`. */
  calls: string[];
  versions: ModelVersionRef[];
  /** `run` is the training run's key (workflow id / first run id), like the real run label. */
  experiments: { id: number; commit: string; parent: string | null; state: ExperimentState; run: string }[];
  outputCommits: { id: string; info: ModelInfo }[];
  deployed: DeployedModel | null;
  detectors: string[];
  /** Per input commit: what the diff reports. Default: one added file. */
  diffKind: Record<string, DiffSummary['kind']>;
  /** Experiments for these commits end in ERROR. */
  failingCommits: Set<string>;
  /** Deployments of these registry versions go Failed. */
  failingVersions: Set<number>;
  /** While true, experiments stay RUNNING. */
  holdExperiments: boolean;
  /** The progress a held experiment heartbeats (Determined's 0..1, or null when it reports none). */
  experimentProgress: number | null;
  /** While true, submitExperiment blocks after creating the experiment (a cancel lands during submit). */
  holdSubmit: boolean;
  /** While true, publishModel blocks (a cancel lands during publish). */
  holdPublish: boolean;
  /** While true, waitForDeploymentReady blocks (the deployment never becomes Available). */
  holdReady: boolean;
  /** While true, replaceDetector blocks. */
  holdDetectors: boolean;
  /** While true, waitForExperiment fails with a retryable error (the workflow retries with backoff). */
  waitUnavailable: boolean;
  /** Highest number of experiments RUNNING at once. */
  maxConcurrentExperiments: number;
  killed: number[];
}

export function createFakeWorld(): FakeWorld {
  return {
    calls: [],
    versions: [],
    experiments: [],
    outputCommits: [],
    deployed: null,
    detectors: [],
    diffKind: {},
    failingCommits: new Set(),
    failingVersions: new Set(),
    holdExperiments: false,
    experimentProgress: null,
    holdSubmit: false,
    holdPublish: false,
    holdReady: false,
    holdDetectors: false,
    waitUnavailable: false,
    maxConcurrentExperiments: 0,
    killed: [],
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Heartbeats until `held()` turns false; throws the cancellation when the activity is cancelled. */
async function holdWhile(held: () => boolean, details: unknown): Promise<void> {
  while (held()) {
    Context.current().heartbeat(details);
    await Context.current().sleep(50);
  }
}

export function createFakeActivities(world: FakeWorld): Activities {
  const running = () => world.experiments.filter((e) => e.state === 'RUNNING').length;
  return {
    async diffCommit({ commit, baseCommit }) {
      world.calls.push(`diffCommit:${commit}:${baseCommit ?? '-'}`);
      const kind = world.diffKind[commit] ?? 'data';
      const files = kind === 'data' ? 1 : 0;
      return {
        commit,
        baseCommit: baseCommit ?? null,
        added: { files, bytes: files * 10 },
        modified: { files: 0, bytes: 0 },
        deleted: { files: kind === 'deletions-only' ? 1 : 0, bytes: 0 },
        digest: `digest-${commit}`,
        kind,
      };
    },
    async fetchExperiment({ source }) {
      world.calls.push(`fetchExperiment:${source.ref}`);
      return { source, sha: 'a'.repeat(40), files: 3, bytes: 300, experimentName: 'fake', searcherMetric: 'accuracy', smallerIsBetter: false };
    },
    async lookupModel({ modelName }) {
      world.calls.push(`lookupModel:${modelName}`);
      return world.versions[world.versions.length - 1] ?? null;
    },
    async submitExperiment({ commit, parent, workflowId, runId }) {
      world.calls.push(`submitExperiment:${commit}:${parent ? parent.checkpointUuid : 'scratch'}`);
      const run = `${workflowId}/${runId}`;
      // Idempotent per training run, like the real label.
      const found = world.experiments.find((e) => e.run === run);
      if (found) return { experimentId: found.id, created: false };
      const id = world.experiments.length + 1;
      world.experiments.push({ id, commit, parent: parent?.checkpointUuid ?? null, state: 'RUNNING', run });
      world.maxConcurrentExperiments = Math.max(world.maxConcurrentExperiments, running());
      await holdWhile(() => world.holdSubmit, { experimentId: id });
      return { experimentId: id, created: true };
    },
    async stopRunExperiments({ workflowId, runId }) {
      world.calls.push('stopRunExperiments');
      const killed = world.experiments.filter((e) => e.run === `${workflowId}/${runId}` && e.state === 'RUNNING');
      for (const e of killed) {
        e.state = 'CANCELED';
        world.killed.push(e.id);
      }
      return { killed: killed.map((e) => e.id) };
    },
    async waitForExperiment({ experimentId, returnWhenStateChangesFrom }) {
      const exp = world.experiments.find((e) => e.id === experimentId);
      if (!exp) throw ApplicationFailure.nonRetryable(`no experiment ${experimentId}`, ErrorType.NotFound);
      world.calls.push(`waitForExperiment:${experimentId}`);
      if (world.waitUnavailable) throw ApplicationFailure.retryable('Determined answered 503', ErrorType.Unavailable);
      if (returnWhenStateChangesFrom === 'UNSPECIFIED') return { experimentId, state: 'RUNNING', progress: 0 };
      try {
        await holdWhile(() => world.holdExperiments, { experimentId, state: exp.state, progress: world.experimentProgress });
      } catch (err) {
        if (err instanceof CancelledFailure && exp.state === 'RUNNING') {
          exp.state = 'CANCELED';
          world.killed.push(experimentId);
        }
        throw err;
      }
      exp.state = world.failingCommits.has(exp.commit) ? 'ERROR' : 'COMPLETED';
      return { experimentId, state: exp.state, progress: 1 };
    },
    async registerModelVersion({ modelName, experimentId, commit }) {
      world.calls.push(`registerModelVersion:${experimentId}`);
      const version: ModelVersionRef = {
        modelName,
        version: world.versions.length + 1,
        name: commit,
        checkpointUuid: `ckpt-${experimentId}`,
        experimentId,
        trainedOnCommit: commit,
        metric: 0.5 + world.versions.length / 100,
      };
      world.versions.push(version);
      return version;
    },
    async publishModel({ version, commit, baseCommit, pipelineName, inputRepo }) {
      world.calls.push(`publishModel:${version.version}`);
      await holdWhile(() => world.holdPublish, { version: version.version });
      const id = `out${world.outputCommits.length + 1}`;
      world.outputCommits.push({
        id,
        info: {
          name: version.modelName,
          pipeline: pipelineName,
          repo: inputRepo.repo,
          version: commit,
          registryVersion: version.version,
          checkpointUuid: version.checkpointUuid,
          experimentId: version.experimentId,
          inputCommit: commit,
          baseCommit,
          metric: version.metric,
          searcherMetric: 'accuracy',
          smallerIsBetter: false,
        },
      });
      return { outputCommit: id, files: 2, bytes: 100, created: true };
    },
    async readModelInfo({ commit }) {
      world.calls.push(`readModelInfo:${commit}`);
      const found = world.outputCommits.find((c) => c.id === commit);
      if (!found) throw ApplicationFailure.nonRetryable(`no model-info.yaml in ${commit}`, ErrorType.InvalidModelInfo);
      return found.info;
    },
    async getDeployedModel() {
      world.calls.push('getDeployedModel');
      return world.deployed;
    },
    async deployModel({ deployment, modelInfo, outputCommit }) {
      world.calls.push(`deployModel:${modelInfo.registryVersion}`);
      const previous = world.deployed;
      world.deployed = {
        deploymentName: deployment.name,
        namespace: deployment.namespace,
        modelName: modelInfo.name,
        registryVersion: modelInfo.registryVersion,
        version: modelInfo.version,
        metric: modelInfo.metric,
        outputCommit,
        state: world.failingVersions.has(modelInfo.registryVersion) ? 'Failed' : 'Available',
      };
      // Each write gets a new resourceVersion: the number of deploys so far.
      const resourceVersion = `rv${world.calls.filter((c) => c.startsWith('deployModel')).length}`;
      return { deploymentName: deployment.name, namespace: deployment.namespace, previous, changed: true, resourceVersion };
    },
    async waitForDeploymentReady({ afterResourceVersion }) {
      world.calls.push(`waitForDeploymentReady:${world.deployed?.registryVersion}@${afterResourceVersion}`);
      await sleep(1);
      await holdWhile(() => world.holdReady, {});
      if (world.deployed?.state === 'Failed') {
        throw ApplicationFailure.nonRetryable('deployment went Failed: image crashed', ErrorType.DeploymentFailed);
      }
      return { state: 'Available' };
    },
    async replaceDetector({ kind, deploymentName }) {
      world.calls.push(`replaceDetector:${kind}`);
      await holdWhile(() => world.holdDetectors, {});
      const name = `${kind}:${deploymentName}`;
      // Like Seldon: the same detector is kept when it exists already.
      const kept = world.detectors.includes(name);
      if (!kept) world.detectors.push(name);
      return { name: deploymentName, replaced: false, action: kept ? 'kept' : 'created' };
    },
  };
}
