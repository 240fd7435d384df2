// The baseline of the orchestration and throughput benchmarks: the same activity functions
// (createActivities(connections)) called directly, in the workflows' order, with no Temporal at all.
// Each call runs in a MockActivityEnvironment (the activities need an activity context for heartbeats
// and sleeps). Run as a child process (`--child`): commands arrive over IPC, so its RSS is its own.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type ConnectionsConfig } from 'continuous-training/activities';
import type { Activities } from 'continuous-training/common/activities';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import type { ExperimentProgress, ExperimentState } from 'continuous-training/common/types';
import { spawnTs } from './harness';

export interface StepTiming {
  name: string;
  ms: number;
}

export interface DirectRun {
  commit: string;
  outputCommit: string;
  steps: StepTiming[];
  totalMs: number;
  /** Calls repeated after a retryable failure (the workflows' retry policy would repeat them too). */
  retries: number;
}

const TERMINAL: ExperimentState[] = ['COMPLETED', 'CANCELED', 'ERROR', 'DELETED'];
const logger = new DefaultLogger('ERROR');

/** Training then deployment of one commit, as trainingWorkflow and deploymentWorkflow call them. */
export async function runDirect(a: Activities, pipeline: PipelineSpec, commit: string, runId: string): Promise<DirectRun> {
  const steps: StepTiming[] = [];
  const started = performance.now();
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const result = await fn();
    steps.push({ name, ms: performance.now() - t });
    return result;
  };
  let retries = 0;
  // Like the workflows' retry policy (initial interval 1 s), for transient failures such as a reset connection.
  const run = async <P, R>(fn: (input: P) => Promise<R>, input: P): Promise<R> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await new MockActivityEnvironment({}, { logger }).run(fn, input);
      } catch (err) {
        if (!(err instanceof ApplicationFailure) || err.nonRetryable || attempt >= 5) throw err;
        retries++;
        await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
      }
    }
  };

  // trainingWorkflow
  const latest = await step('lookup-model', () => run(a.lookupModel, { modelName: pipeline.modelName, pipelineName: pipeline.name, inputRepo: pipeline.input }));
  if (latest?.trainedOnCommit === commit) throw new Error('already trained on this commit');
  const diff = await step('diff-commit', () => run(a.diffCommit, { repo: pipeline.input, commit, baseCommit: latest?.trainedOnCommit ?? null }));
  if (diff.kind !== 'data') throw new Error(`nothing to train on: ${diff.kind}`);
  const code = await step('fetch-experiment', () => run(a.fetchExperiment, { source: pipeline.experiment }));
  const workflowId = `bench-direct-${runId}`;
  const submitted = await step('submit-experiment', () =>
    run(a.submitExperiment, { pipelineName: pipeline.name, inputRepo: pipeline.input, commit, baseCommit: diff.baseCommit, code, parent: latest, workflowId, runId: workflowId }),
  );
  const final = await step('wait-experiment', async () => {
    let state: ExperimentState = 'UNSPECIFIED';
    for (;;) {
      const e: ExperimentProgress = await run(a.waitForExperiment, { experimentId: submitted.experimentId, pollInterval: pipeline.training.pollInterval, returnWhenStateChangesFrom: state });
      state = e.state;
      if (TERMINAL.includes(state)) return e;
    }
  });
  if (final.state !== 'COMPLETED') throw new Error(`experiment ${final.experimentId} ${final.state}`);
  const version = await step('register-version', () =>
    run(a.registerModelVersion, {
      modelName: pipeline.modelName,
      pipelineName: pipeline.name,
      inputRepo: pipeline.input,
      experimentId: submitted.experimentId,
      commit,
      baseCommit: diff.baseCommit,
      workflowId,
    }),
  );
  const published = await step('publish-model', () =>
    run(a.publishModel, { output: pipeline.output, pipelineName: pipeline.name, inputRepo: pipeline.input, version, commit, baseCommit: diff.baseCommit }),
  );

  // deploymentWorkflow
  const { deployment } = pipeline;
  const outputCommit = published.outputCommit;
  const target = { deploymentName: deployment.name, namespace: deployment.namespace };
  const modelInfo = await step('read-model-info', () => run(a.readModelInfo, { repo: pipeline.output, commit: outputCommit }));
  await step('read-deployed', () => run(a.getDeployedModel, target));
  if (deployment.promotionGate) throw new Error('the benchmark pipelines have no promotion gate');
  await step('deploy', () => run(a.deployModel, { deployment, modelInfo, outputCommit }));
  await step('wait-ready', () => run(a.waitForDeploymentReady, { ...target, timeout: deployment.readyTimeout, pollInterval: '2s' }));
  for (const kind of ['drift', 'outlier'] as const) {
    const settings = deployment[kind];
    if (!settings) continue;
    await step(`${kind}-detector`, () => run(a.replaceDetector, { kind, ...target, settings, modelInfo }));
  }
  return { commit, outputCommit, steps, totalMs: performance.now() - started, retries };
}

// ---- child process ------------------------------------------------------------------------------

export interface DirectRequest {
  id: number;
  pipeline: PipelineSpec;
  commit: string;
}

export type DirectReply = { id: number; ok: true; run: DirectRun } | { id: number; ok: false; error: string };

function child(): void {
  const connections = JSON.parse(process.env.CT_BENCH_CONNECTIONS ?? '{}') as ConnectionsConfig;
  const activities = createActivities(connections);
  process.on('message', (msg: DirectRequest | 'exit') => {
    if (msg === 'exit') process.exit(0);
    runDirect(activities, msg.pipeline, msg.commit, `${process.pid}-${msg.id}`).then(
      (run) => process.send?.({ id: msg.id, ok: true, run } satisfies DirectReply),
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies DirectReply),
    );
  });
  process.send?.('ready');
}

export interface DirectChild {
  pid: number;
  run(pipeline: PipelineSpec, commit: string): Promise<DirectRun>;
  stop(): Promise<void>;
}

/** Starts this file as a child process that runs pipelines directly on request. */
export async function startDirectChild(connections: ConnectionsConfig): Promise<DirectChild> {
  const proc = spawnTs(__filename, ['--child'], { PATH: process.env.PATH, HOME: process.env.HOME, CT_BENCH_CONNECTIONS: JSON.stringify(connections) }, true);
  const waiting = new Map<number, { resolve: (r: DirectRun) => void; reject: (e: Error) => void }>();
  let next = 0;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => {
    for (const w of waiting.values()) w.reject(new Error('the direct child exited'));
  });
  proc.stderr?.pipe(process.stderr);
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    void exited.then(() => reject(new Error('the direct child exited before starting')));
  });
  proc.on('message', (reply: DirectReply) => {
    const w = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.ok) w?.resolve(reply.run);
    else w?.reject(new Error(reply.error));
  });
  return {
    pid: proc.pid!,
    run: (pipeline, commit) =>
      new Promise<DirectRun>((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        proc.send({ id, pipeline, commit } satisfies DirectRequest);
      }),
    stop: async () => {
      if (proc.connected) proc.send('exit');
      const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    },
  };
}

if (process.argv[2] === '--child' && /direct\.ts$/.test(process.argv[1] ?? '')) child();
