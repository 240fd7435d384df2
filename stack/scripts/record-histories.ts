// Records workflow histories from real runs on the Temporal dev server, for the replay tests
// (test/replay; product/test/replay/paths.test.ts checks the long-lived workflows' paths are all in
// them). Run it when adding a workflow or after a deliberate, patched() change:
//   npx tsx scripts/record-histories.ts [--tag <name>]
// With --tag, each history is written as `<scenario>.<name>.json` beside the earlier ones, which stay:
// histories recorded before a patched() change are what proves running executions still replay, so they
// are kept until the patch is deprecated; the tagged ones cover the new code path.
// Two sets: `real-*` runs the real activities against the emulators (simulated mode, so no Python);
// the others use the in-memory activities of the workflow tests, to reach branches (a failed rollout
// rolled back) that the emulators cannot produce on cue.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createLocalEnv } from 'continuous-training/test/helpers/temporal';
import { createFakeActivities, createFakeWorld, type FakeWorld } from 'continuous-training/test/helpers/fake-activities';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { repositoryWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import { overrideTraining, requestDeploy, specRevision, triggerCommit } from 'continuous-training/client/signals';
import type { RepositoryStatus } from 'continuous-training/workflows/repository';
import { testPipeline } from 'continuous-training/test/helpers/pipeline';
import { startLocalStack } from '../local-stack';
import { demoPipeline } from '../demo-pipeline';
import { demoBatch } from '../demo-data';
import { createWorker } from 'continuous-training/worker/create-worker';
import { putFiles } from 'continuous-training/client/put-files';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import {
  trainingWorkflow,
  deploymentWorkflow,
  repositoryWorkflow,
  newCommitSignal,
  newCommitUpdate,
  applyPipelineUpdate,
  applyDeploymentUpdate,
  pauseSignal,
  resumeSignal,
  repositoryStatusQuery,
  deployerWorkflow,
  deployRequestSignal,
  deployerStatusQuery,
} from 'continuous-training/workflows';

// The replay tests are the product's: the histories live beside them.
const outDir = path.join(__dirname, '..', '..', 'product', 'test', 'histories');

function tagArg(argv: string[]): string | null {
  const i = argv.indexOf('--tag');
  if (i < 0) return null;
  const tag = argv[i + 1] ?? '';
  if (!/^[a-z0-9][a-z0-9-]*$/.test(tag)) throw new Error('--tag needs a name of lowercase letters, digits and dashes');
  return tag;
}
const tag = tagArg(process.argv.slice(2));

async function save(client: Client, workflowId: string, file: string, runId?: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  // The canonical proto JSON, as `temporal workflow show --output json` writes it, plus the real
  // workflow id: the replayer needs it (child workflow ids derive from it).
  const json = JSON.parse(historyToJSON(history)) as Record<string, unknown>;
  const name = tag ? file.replace(/\.json$/, `.${tag}.json`) : file;
  // A tagged recording never replaces a history: the old ones must keep proving the old code path.
  if (tag && fs.existsSync(path.join(outDir, name))) throw new Error(`${name} exists already: pick another --tag`);
  fs.writeFileSync(path.join(outDir, name), JSON.stringify({ workflowId, ...json }, null, 1) + '\n');
  console.log(`recorded ${name} (${history.events?.length} events)`);
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600 && !(await check()); i++) await new Promise((r) => setTimeout(r, 100));
}

async function recordWithFakeActivities(client: Client, worker: (tq: string, activities: object) => Promise<Worker>): Promise<void> {
  const world = createFakeWorld();
  const pipeline = testPipeline({ training: { mode: 'coalesce', pollInterval: '1s', timeout: '1h' } });
  const taskQueue = 'record-fake';
  const w = await worker(taskQueue, createFakeActivities(world));
  const trainings = () => world.experiments.length;
  await w.runUntil(async () => {
    const train = (id: string, commit: string) =>
      client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: id, args: [{ pipeline, commit }] }).catch(() => undefined);
    const deploy = (id: string, outputCommit: string) =>
      client.workflow
        .execute(deploymentWorkflow, { taskQueue, workflowId: id, args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit, reason: 'cascade' }] })
        .catch(() => undefined);
    await train('training-new-model', 'c1');
    await save(client, 'training-new-model', 'training-new-model.json');
    await train('training-continued', 'c2');
    await save(client, 'training-continued', 'training-continued.json');
    world.diffKind.c3 = 'empty';
    await train('training-skipped', 'c3');
    await save(client, 'training-skipped', 'training-skipped.json');
    world.failingCommits.add('c4');
    await train('training-experiment-error', 'c4');
    await save(client, 'training-experiment-error', 'training-experiment-error.json');
    // A training cancelled during its wait: the cleanup kills its experiment.
    world.holdExperiments = true;
    const cancelled = await client.workflow.start(trainingWorkflow, { taskQueue, workflowId: 'training-cancelled', args: [{ pipeline, commit: 'c4b' }] });
    await until(async () => world.calls.filter((c) => c === `waitForExperiment:${trainings()}`).length >= 2);
    await cancelled.cancel();
    await cancelled.result().catch(() => undefined);
    world.holdExperiments = false;
    await save(client, 'training-cancelled', 'training-cancelled.json');
    // A training past its deadline (a short one: the test server does not skip time under a running activity).
    world.holdExperiments = true;
    await client.workflow
      .execute(trainingWorkflow, { taskQueue, workflowId: 'training-timed-out', args: [{ pipeline: { ...pipeline, training: { ...pipeline.training, timeout: '2s' } }, commit: 'c4c' }] })
      .catch(() => undefined);
    world.holdExperiments = false;
    await save(client, 'training-timed-out', 'training-timed-out.json');
    await deploy('deployment-deployed', 'out1');
    await save(client, 'deployment-deployed', 'deployment-deployed.json');
    world.failingVersions.add(2);
    await deploy('deployment-rolled-back', 'out2');
    await save(client, 'deployment-rolled-back', 'deployment-rolled-back.json');
    world.failingVersions.delete(2);

    await recordRepository(client, taskQueue, world, pipeline);
    await recordRepositoryContinuedAsNew(client, taskQueue, pipeline);
    await recordRepositoryOverride(client, taskQueue, world, pipeline);
    await recordDeployer(client, taskQueue, world, pipeline);
  });
}

/**
 * One repository workflow through every path of its life: two or more trainings, commits coalesced
 * into one, a failed training, pause and resume, a training cancelled (recorded, the pipeline goes on),
 * an Update rejected by the handler (a retry of a completed training), a configuration change, and at
 * last the pipeline itself cancelled. Signals are used for some commits: running workflows still get them.
 */
async function recordRepository(client: Client, taskQueue: string, world: FakeWorld, base: PipelineSpec): Promise<void> {
  const pipeline = { ...base, input: { ...base.input, repo: 'recorded-repository' } };
  const status = (h: { query: (q: typeof repositoryStatusQuery) => Promise<RepositoryStatus> }) => h.query(repositoryStatusQuery);
  const experimentsBefore = world.experiments.length;
  world.holdExperiments = true;
  const { workflowId } = await triggerCommit(client, taskQueue, pipeline, 'r1');
  const repo = client.workflow.getHandle(workflowId);
  await until(async () => world.experiments.length === experimentsBefore + 1);
  // Coalesced: three commits while r1 trains, one by signal.
  await triggerCommit(client, taskQueue, pipeline, 'r2');
  await repo.signal(newCommitSignal, { commit: 'r3' });
  await triggerCommit(client, taskQueue, pipeline, 'r4');
  world.holdExperiments = false;
  await until(async () => (await status(repo)).processed === 4);
  // A failed training, and the next commit goes on.
  world.failingCommits.add('r5');
  await triggerCommit(client, taskQueue, pipeline, 'r5');
  await until(async () => (await status(repo)).processed === 5);
  // Paused: r6 waits; resumed: it trains.
  await repo.signal(pauseSignal);
  await triggerCommit(client, taskQueue, pipeline, 'r6');
  await repo.signal(resumeSignal);
  await until(async () => (await status(repo)).processed === 6);
  // A training cancelled by hand: recorded as cancelled, the workflow goes on.
  world.holdExperiments = true;
  await triggerCommit(client, taskQueue, pipeline, 'r7');
  await until(async () => (await status(repo)).running?.commit === 'r7' && world.experiments.some((e) => e.commit === 'r7'));
  await client.workflow.getHandle(trainingWorkflowId(pipeline.modelName, 'r7')).cancel();
  await until(async () => (await status(repo)).processed === 7);
  world.holdExperiments = false;
  // Rejected: a retry of a completed training (answered by the handler, so it is in the history).
  const rejected = await triggerCommit(client, taskQueue, pipeline, 'r6', { retry: true });
  if (rejected.answer.status !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(rejected.answer)}`);
  // A configuration change, then a commit trained with it.
  const changed = { ...pipeline, training: { ...pipeline.training, pollInterval: '2s' } };
  await repo.executeUpdate(applyPipelineUpdate, { args: [{ spec: changed, revision: specRevision(changed) }] });
  await triggerCommit(client, taskQueue, pipeline, 'r8');
  await until(async () => (await status(repo)).processed === 8);
  // Stopping the pipeline: the repository workflow itself cancelled.
  await repo.cancel();
  await until(async () => (await repo.describe()).status.name === 'CANCELLED');
  await save(client, workflowId, 'repository.json');
}

/** A repository workflow that continues as new (a low event limit): the first run's history. */
async function recordRepositoryContinuedAsNew(client: Client, taskQueue: string, base: PipelineSpec): Promise<void> {
  const pipeline = { ...base, input: { ...base.input, repo: 'recorded-repository-can' }, training: { ...base.training, mode: 'per-commit' as const } };
  const workflowId = 'repository-continued-as-new';
  const first = await client.workflow.start(repositoryWorkflow, { taskQueue, workflowId, args: [{ pipeline, maxHistoryEvents: 40 }] });
  for (let i = 0; i < 6; i++) {
    await client.workflow.getHandle(workflowId).executeUpdate(newCommitUpdate, { args: [{ commit: `n${i}` }] });
    await until(async () => (await client.workflow.getHandle(workflowId).query(repositoryStatusQuery)).processed === i + 1);
  }
  await client.workflow.getHandle(workflowId).terminate('recorded');
  await save(client, workflowId, 'repository-continued-as-new.json', first.firstExecutionRunId);
}

/**
 * The operator's ways out of a blocked pipeline: `ct rebase` (an override Update) then a training with it,
 * the override cleared by hand, and `ct retry --exclude` of a failed commit (the retry carries the override).
 */
async function recordRepositoryOverride(client: Client, taskQueue: string, world: FakeWorld, base: PipelineSpec): Promise<void> {
  const pipeline = { ...base, input: { ...base.input, repo: 'recorded-repository-override' } };
  const status = () => client.workflow.getHandle(repositoryWorkflowId(pipeline.input)).query(repositoryStatusQuery);
  await triggerCommit(client, taskQueue, pipeline, 'o1');
  await until(async () => (await status()).processed === 1);
  await overrideTraining(client, taskQueue, pipeline, { baseCommit: 'o1', exclude: ['/broken/**'] });
  await overrideTraining(client, taskQueue, pipeline, { clear: true });
  await overrideTraining(client, taskQueue, pipeline, { baseCommit: 'o1' });
  world.failingCommits.add('o2');
  await triggerCommit(client, taskQueue, pipeline, 'o2');
  await until(async () => (await status()).processed === 2);
  world.failingCommits.delete('o2');
  const { workflowId } = await triggerCommit(client, taskQueue, pipeline, 'o2', { retry: true, override: { exclude: ['/broken.pgm'] } });
  await until(async () => (await status()).processed === 3 && (await status()).override === null);
  await client.workflow.getHandle(workflowId).terminate('recorded');
  await save(client, workflowId, 'repository-override.json');
}

/** A deployer: a rollout, a rollout cancelled (rolled back, recorded), pause and resume, a configuration change. */
async function recordDeployer(client: Client, taskQueue: string, world: FakeWorld, pipeline: PipelineSpec): Promise<void> {
  const out = world.outputCommits.map((c) => c.id);
  const { workflowId } = await requestDeploy(client, taskQueue, pipeline, out[0], 'cascade');
  const deployer = client.workflow.getHandle(workflowId);
  const processed = async () => (await deployer.query(deployerStatusQuery)).processed;
  await until(async () => (await processed()) === 1);
  world.holdReady = true;
  const waits = () => world.calls.filter((c) => c.startsWith('waitForDeploymentReady')).length;
  const waitsBefore = waits();
  await deployer.signal(deployRequestSignal, { outputCommit: out[1], reason: 'cascade' });
  await until(async () => waits() > waitsBefore && (await deployer.query(deployerStatusQuery)).running !== null);
  await deployer.signal(pauseSignal);
  await client.workflow.getHandle((await deployer.query(deployerStatusQuery)).running!.workflowId).cancel();
  world.holdReady = false;
  await until(async () => (await processed()) === 2);
  await requestDeploy(client, taskQueue, pipeline, out[out.length - 1], 'manual');
  const spec = { deployment: { ...pipeline.deployment, replicas: 2 }, output: pipeline.output };
  await deployer.executeUpdate(applyDeploymentUpdate, { args: [{ spec, revision: specRevision(spec) }] });
  await deployer.signal(resumeSignal);
  await until(async () => (await processed()) === 3);
  await deployer.terminate('recorded');
  await save(client, workflowId, 'deployer.json');
}

async function recordWithRealActivities(client: Client, connection: import('@temporalio/worker').NativeConnection): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-record-'));
  const stack = await startLocalStack({
    stateDir,
    mode: 'simulated',
    determinedDelays: { queuedMs: 50, pullingMs: 50, startingMs: 50, runningMs: 500 },
    seldonAvailableDelayMs: 300,
  });
  const taskQueue = 'record-real';
  try {
    const pipeline = demoPipeline(stack.experimentRepo);
    const worker = await createWorker({ connection, namespace: 'default', taskQueue, connections: stack.connections });
    await worker.runUntil(async () => {
      const put = (files: Record<string, Buffer>, deletes: string[] = []) =>
        putFiles(new PachydermClient(stack.connections), { repo: pipeline.input.repo, branch: pipeline.input.branch, files, deletes, createRepo: true });
      const c1 = await put(demoBatch(1));
      const first = await client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: 'real-training-new-model', args: [{ pipeline, commit: c1 }] });
      await save(client, 'real-training-new-model', 'real-training-new-model.json');
      const c2 = await put(demoBatch(2));
      await client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: 'real-training-continued', args: [{ pipeline, commit: c2 }] });
      await save(client, 'real-training-continued', 'real-training-continued.json');
      const c3 = await put({}, ['/data/circle/000.pgm']);
      await client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: 'real-training-deletions-only', args: [{ pipeline, commit: c3 }] });
      await save(client, 'real-training-deletions-only', 'real-training-deletions-only.json');
      await fetch(`${stack.determined.url}/__emulator/outcomes`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rules: [{ name: '.*', outcome: 'ERROR', times: 1 }] }),
      });
      const c4 = await put({ '/data/square/999.pgm': Buffer.from('P2 16 16 255\n') });
      await client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: 'real-training-experiment-error', args: [{ pipeline, commit: c4 }] }).catch(() => undefined);
      await save(client, 'real-training-experiment-error', 'real-training-experiment-error.json');

      if (first.status !== 'trained') throw new Error('the first training should have trained');
      const deployer = await client.workflow.signalWithStart(deployerWorkflow, {
        taskQueue,
        workflowId: 'real-deployer',
        args: [{ deployment: pipeline.deployment, output: pipeline.output, pipelineName: pipeline.name }],
        signal: deployRequestSignal,
        signalArgs: [{ outputCommit: first.outputCommit, reason: 'cascade' }],
      });
      await until(async () => (await deployer.query(deployerStatusQuery)).processed >= 1);
      await deployer.terminate('recorded');
      await save(client, 'real-deployer', 'real-deployer.json');
      const deployId = (await deployer.query(deployerStatusQuery)).recent[0].workflowId;
      await save(client, deployId, 'real-deployment.json');
    });
  } finally {
    await stack.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const env = await createLocalEnv();
  try {
    await recordWithFakeActivities(env.client, (taskQueue, activities) =>
      Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('continuous-training/workflows'), activities }),
    );
    await recordWithRealActivities(env.client, env.nativeConnection);
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
