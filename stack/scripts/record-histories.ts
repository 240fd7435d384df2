// Records workflow histories from real runs on the Temporal dev server, for the replay tests
// (test/replay). Run it when adding a workflow or after a deliberate, patched() change:
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
import { createFakeActivities, createFakeWorld } from 'continuous-training/test/helpers/fake-activities';
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
  repositoryStatusQuery,
  deployerWorkflow,
  deployRequestSignal,
  deployerStatusQuery,
} from 'continuous-training/workflows';

const outDir = path.join(__dirname, '..', 'test', 'histories');

function tagArg(argv: string[]): string | null {
  const i = argv.indexOf('--tag');
  if (i < 0) return null;
  const tag = argv[i + 1] ?? '';
  if (!/^[a-z0-9][a-z0-9-]*$/.test(tag)) throw new Error('--tag needs a name of lowercase letters, digits and dashes');
  return tag;
}
const tag = tagArg(process.argv.slice(2));

async function save(client: Client, workflowId: string, file: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
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
  const pipeline = testPipeline();
  const taskQueue = 'record-fake';
  const w = await worker(taskQueue, createFakeActivities(world));
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
    await deploy('deployment-deployed', 'out1');
    await save(client, 'deployment-deployed', 'deployment-deployed.json');
    world.failingVersions.add(2);
    await deploy('deployment-rolled-back', 'out2');
    await save(client, 'deployment-rolled-back', 'deployment-rolled-back.json');
    const repo = await client.workflow.signalWithStart(repositoryWorkflow, {
      taskQueue,
      workflowId: 'repository',
      args: [{ pipeline }],
      signal: newCommitSignal,
      signalArgs: [{ commit: 'c5' }],
    });
    await repo.signal(newCommitSignal, { commit: 'c6' });
    await until(async () => (await repo.query(repositoryStatusQuery)).processed >= 2);
    await repo.terminate('recorded');
    await save(client, 'repository', 'repository.json');
  });
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
        args: [{ deployment: pipeline.deployment, output: pipeline.output }],
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
