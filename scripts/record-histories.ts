// Records workflow histories from real runs on the Temporal dev server, for the replay tests
// (test/replay). Run it when adding a workflow or after a deliberate, patched() change:
//   npx tsx scripts/record-histories.ts
// The activities are the in-memory ones of the workflow tests, so the runs are quick and repeatable.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createLocalEnv } from '../test/helpers/temporal';
import { createFakeActivities, createFakeWorld } from '../test/helpers/fake-activities';
import { testPipeline } from '../test/helpers/pipeline';
import { trainingWorkflow, deploymentWorkflow, repositoryWorkflow, newCommitSignal, repositoryStatusQuery } from '../workflows';

const outDir = path.join(__dirname, '..', 'test', 'histories');

async function main(): Promise<void> {
  const env = await createLocalEnv();
  const world = createFakeWorld();
  const pipeline = testPipeline();
  const taskQueue = 'record-histories';
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createFakeActivities(world),
  });
  const save = async (workflowId: string, file: string) => {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    // The canonical proto JSON, as `temporal workflow show --output json` writes it; the workflow id
    // goes in the file name's companion field so the replayer sees the real id (child ids derive from it).
    const json = JSON.parse(historyToJSON(history)) as Record<string, unknown>;
    fs.writeFileSync(path.join(outDir, file), JSON.stringify({ workflowId, ...json }, null, 1) + '\n');
    console.log(`recorded ${file} (${history.events?.length} events)`);
  };
  try {
    await worker.runUntil(async () => {
      const train = (id: string, commit: string) =>
        env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: id, args: [{ pipeline, commit }] }).catch(() => undefined);
      const deploy = (id: string, outputCommit: string) =>
        env.client.workflow
          .execute(deploymentWorkflow, {
            taskQueue,
            workflowId: id,
            args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit, reason: 'cascade' }],
          })
          .catch(() => undefined);

      await train('training-new-model', 'c1');
      await save('training-new-model', 'training-new-model.json');
      await train('training-continued', 'c2');
      await save('training-continued', 'training-continued.json');
      world.diffKind.c3 = 'empty';
      await train('training-skipped', 'c3');
      await save('training-skipped', 'training-skipped.json');
      world.failingCommits.add('c4');
      await train('training-experiment-error', 'c4');
      await save('training-experiment-error', 'training-experiment-error.json');
      await deploy('deployment-deployed', 'out1');
      await save('deployment-deployed', 'deployment-deployed.json');
      world.failingVersions.add(2);
      await deploy('deployment-rolled-back', 'out2');
      await save('deployment-rolled-back', 'deployment-rolled-back.json');

      const repo = await env.client.workflow.signalWithStart(repositoryWorkflow, {
        taskQueue,
        workflowId: 'repository',
        args: [{ pipeline }],
        signal: newCommitSignal,
        signalArgs: [{ commit: 'c5' }],
      });
      await repo.signal(newCommitSignal, { commit: 'c6' });
      while ((await repo.query(repositoryStatusQuery)).processed < 2) await new Promise((r) => setTimeout(r, 100));
      await repo.terminate('recorded');
      await save('repository', 'repository.json');
    });
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
