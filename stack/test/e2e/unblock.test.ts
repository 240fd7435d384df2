// Issue 19, case 5: one bad file must not block a pipeline for good. The example experiment, trained for real
// by the Determined emulator's process runner, with `skip_unreadable: false` (as an experiment that does not
// skip bad files behaves): a broken image makes its experiment fail, and every later training too, since
// each diffs against the last trained commit. The operator's ways out, with `ct` as a separate process:
// `ct retry --exclude` (the rest of the blocked commits is still trained on) and `ct rebase` (what came
// before the base is skipped). No watcher: trainings only, the deployment side is not this file's concern.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createWorker } from 'continuous-training/worker/create-worker';
import { triggerCommit } from 'continuous-training/client/signals';
import { repositoryWorkflowId, trainingWorkflowId } from 'continuous-training/common/ids';
import { ErrorType } from 'continuous-training/common/errors';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import type { TrainingResult } from 'continuous-training/workflows/training';
import { repositoryStatusQuery } from 'continuous-training/workflows';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { demoBatch } from '../../demo-data';
import { ctCommand, pipelinesFile } from '../reliability/helpers/ct-cli';
import { startTestbed, uniquePipeline, type Testbed } from '../reliability/helpers/testbed';
import { testWorkflowBundlePath } from 'continuous-training/test/helpers/workflow-bundle';

const QUEUE = 'unblock';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tb: Testbed;
let worker: Worker;
let workerDone: Promise<void>;
let pipeline: PipelineSpec;

/** A copy of the stack's experiment repository whose experiment fails on an unreadable image. */
function strictExperimentRepo(): string {
  const dir = path.join(tb.stateDir, 'strict-experiment');
  execFileSync('git', ['clone', '-q', tb.stack.experimentRepo, dir]);
  const config = path.join(dir, 'const.yaml');
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('skip_unreadable: true', 'skip_unreadable: false'));
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-q', '-am', 'fail on unreadable files'], { cwd: dir });
  return dir;
}

beforeAll(async () => {
  tb = await startTestbed({ mode: 'process', determinedDelays: { queuedMs: 20, pullingMs: 20, startingMs: 20 } });
  worker = await createWorker({ connection: tb.env.nativeConnection, namespace: 'default', taskQueue: QUEUE, connections: tb.stack.connections , workflowBundlePath: testWorkflowBundlePath() });
  workerDone = worker.run();
  const p = uniquePipeline(tb.stack, 'unblock');
  pipeline = { ...p, experiment: { ...p.experiment, gitUrl: strictExperimentRepo() } };
}, 180_000);

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone?.catch(() => undefined);
  await tb?.close();
}, 120_000);

const ct = (args: string[]) => ctCommand(tb, QUEUE)(args);

/** Commits files to the pipeline's input branch and sends the commit to its workflow. */
async function commitAndTrigger(files: Record<string, Buffer>): Promise<string> {
  const commit = await putFiles({ url: tb.stack.pachd.url, authToken: tb.stack.connections.pachyderm.token }, pipeline.input.repo, pipeline.input.branch, files);
  await triggerCommit(tb.client, QUEUE, pipeline, commit);
  return commit;
}

/** The outcome of the training of `commit` in a run other than `notRunId` (a retry's new run). */
async function trainingOutcome(commit: string, notRunId?: string): Promise<{ runId: string; result?: TrainingResult; failure?: ApplicationFailure }> {
  const deadline = Date.now() + 180_000;
  const handle = tb.client.workflow.getHandle(trainingWorkflowId(pipeline.modelName, commit));
  for (;;) {
    const runId = await handle.describe().then((d) => d.runId, () => undefined);
    if (runId && runId !== notRunId) {
      try {
        return { runId, result: (await tb.client.workflow.getHandle(handle.workflowId, runId).result()) as TrainingResult };
      } catch (err) {
        let failure: ApplicationFailure | undefined;
        for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof ApplicationFailure) failure = e;
        if (!failure) throw err;
        return { runId, failure };
      }
    }
    if (Date.now() > deadline) throw new Error(`no ${notRunId ? 'new ' : ''}training of ${commit}`);
    await sleep(200);
  }
}

async function trained(commit: string, notRunId?: string): Promise<Extract<TrainingResult, { status: 'trained' }>> {
  const { result, failure } = await trainingOutcome(commit, notRunId);
  if (result?.status !== 'trained') throw new Error(`the training of ${commit} did not train: ${failure?.message ?? JSON.stringify(result)}`);
  return result;
}

async function failedWithBadFile(commit: string): Promise<string> {
  const { runId, failure } = await trainingOutcome(commit);
  expect(failure).toMatchObject({ type: ErrorType.ExperimentFailed });
  return runId;
}

/** What the trial read: the checkpoint's model.json (`trained_on`). */
function trainedOn(checkpointUuid: string): { base_commit: string | null; files: number; skipped: unknown[] } {
  const det = tb.stack.determined;
  const ckpt = det.store.checkpoint(checkpointUuid);
  if (!ckpt) throw new Error(`no checkpoint ${checkpointUuid}`);
  return JSON.parse(fs.readFileSync(path.join(det.stateDir, ckpt.dir, 'model.json'), 'utf8')).trained_on;
}

async function override(): Promise<unknown> {
  return (await tb.client.workflow.getHandle(repositoryWorkflowId(pipeline.input)).query(repositoryStatusQuery)).override;
}

/** The override once the repository workflow has taken in the training's result: it clears the override
 *  in a workflow task of its own after the child completes, which may come after the test read that result. */
async function overrideAfterTraining(): Promise<unknown> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await override();
    if (value === null || Date.now() > deadline) return value;
    await sleep(100);
  }
}

test('5. a broken file blocks every training until ct retry --exclude leaves it out; ct rebase skips what came before a commit', async () => {
  const batch = demoBatch(1);
  const paths = Object.keys(batch).sort();
  const part = (from: number, to: number) => Object.fromEntries(paths.slice(from, to).map((p) => [p, batch[p]]));
  const broken = '/data/circle/broken.pgm';

  const c1 = await commitAndTrigger(part(0, 8));
  expect((await trained(c1)).modelVersion.version).toBe(1);

  // The broken image fails its training, and the next commit's too: its diff against c1 still holds it.
  const c2 = await commitAndTrigger({ ...part(8, 12), [broken]: Buffer.alloc(0) });
  await failedWithBadFile(c2);
  const c3 = await commitAndTrigger(part(12, 16));
  const blockedRun = await failedWithBadFile(c3);

  const config = pipelinesFile(tb, [pipeline]);
  const retry = await ct(['retry', '--config', config, '--pipeline', pipeline.name, '--commit', c3, '--exclude', broken]);
  expect(retry).toMatchObject({ code: 0, stderr: '' });
  expect(retry.stdout).toContain('accepted');
  const unblocked = await trained(c3, blockedRun);
  // Every other file of c2 and c3 was trained on: nothing lost but the excluded file.
  expect(unblocked).toMatchObject({ baseCommit: c1, diff: { added: { files: 8 }, excluded: { files: 1 } }, modelVersion: { version: 2 } });
  expect(trainedOn(unblocked.modelVersion.checkpointUuid)).toMatchObject({ base_commit: c1, files: 8, skipped: [] });
  expect(await overrideAfterTraining()).toBeNull();

  // Later trainings diff against c3 as usual: the override ended with the model it unblocked.
  const c4 = await commitAndTrigger(part(16, 18));
  const next = await trained(c4);
  expect(next).toMatchObject({ baseCommit: c3, diff: { added: { files: 2 } } });
  expect(next.diff.excluded).toBeUndefined();

  // Rebase: the broken commit c5 becomes the base, so c6's training sees c6's files only.
  const c5 = await commitAndTrigger({ [broken.replace('circle', 'square')]: Buffer.alloc(0) });
  await failedWithBadFile(c5);
  const rebase = await ct(['rebase', '--config', config, '--pipeline', pipeline.name, '--commit', c5]);
  expect(rebase).toMatchObject({ code: 0, stderr: '' });
  expect(rebase.stdout).toContain(`diff against ${c5}, until a training registers a model`);
  expect(await override()).toEqual({ baseCommit: c5 });
  const c6 = await commitAndTrigger(part(18, 24));
  const rebased = await trained(c6);
  expect(rebased).toMatchObject({ baseCommit: c5, diff: { added: { files: 6 } }, modelVersion: { version: 4 } });
  expect(trainedOn(rebased.modelVersion.checkpointUuid)).toMatchObject({ base_commit: c5, files: 6 });
  expect(await overrideAfterTraining()).toBeNull();
}, 600_000);

test('bad requests are refused before anything changes: a base commit not on the branch, a bad pattern, rebase without a commit', async () => {
  const config = pipelinesFile(tb, [pipeline]);
  const before = await override();
  const offBranch = await ct(['rebase', '--config', config, '--pipeline', pipeline.name, '--commit', 'f'.repeat(32)]);
  expect(offBranch.code).toBe(3);
  expect(offBranch.stderr).toMatch(/^error: .*f{32}/);
  const badPattern = await ct(['rebase', '--config', config, '--pipeline', pipeline.name, '--commit', 'f'.repeat(32), '--exclude', '/']);
  expect(badPattern).toMatchObject({ code: 2, stderr: 'error: an exclude pattern must name a path (e.g. /images/broken.pgm or /images/**/*.tmp)' });
  const nothing = await ct(['rebase', '--config', config, '--pipeline', pipeline.name]);
  expect(nothing).toMatchObject({ code: 2, stderr: 'error: --commit is required' });
  const both = await ct(['rebase', '--config', config, '--pipeline', pipeline.name, '--clear', '--commit', 'f'.repeat(32)]);
  expect(both).toMatchObject({ code: 2, stderr: 'error: rebase --clear takes no --commit or --exclude' });
  expect(await override()).toEqual(before);

  // The workflow's validator refuses what the CLI would have: an Update answer, nothing applied.
  const { overrideTraining } = await import('continuous-training/client/signals');
  const refused = await overrideTraining(tb.client, QUEUE, pipeline, { exclude: [''] });
  expect(refused.answer).toEqual({ status: 'rejected', reason: 'an exclude pattern must name a path (e.g. /images/broken.pgm or /images/**/*.tmp)' });
  const set = await ct(['rebase', '--config', config, '--pipeline', pipeline.name, '--commit', (await tb.client.workflow.getHandle(repositoryWorkflowId(pipeline.input)).query(repositoryStatusQuery)).recent.at(-1)!.commit]);
  expect(set.code).toBe(0);
  const cleared = await ct(['rebase', '--config', config, '--pipeline', pipeline.name, '--clear', '--json']);
  expect(cleared.code).toBe(0);
  expect(JSON.parse(cleared.stdout)).toMatchObject({ override: null, previous: { baseCommit: expect.any(String) } });
  expect(await override()).toBeNull();
}, 120_000);
