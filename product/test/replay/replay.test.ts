// Replays histories recorded from real runs (scripts/record-histories.ts) against the current workflow
// code. A change that would break running executions fails here: guard it with patched().
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

const dir = path.join(__dirname, '..', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

test('there are recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(13);
});

test.each(files)('%s replays against the current workflow code', async (file) => {
  const { workflowId, ...json } = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { workflowId: string };
  const history = historyFromJSON(json);
  await expect(
    Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, workflowId),
  ).resolves.toBeUndefined();
});

test('an incompatible change to a workflow fails the replay (the check can fail)', async () => {
  const { workflowId, ...json } = JSON.parse(fs.readFileSync(path.join(dir, 'training-new-model.json'), 'utf8')) as {
    workflowId: string;
  };
  await expect(
    Worker.runReplayHistory(
      { workflowsPath: require.resolve('./fixtures/changed-workflows') },
      historyFromJSON(json),
      workflowId,
    ),
  ).rejects.toThrow(/[Nn]ondetermin/);
});
