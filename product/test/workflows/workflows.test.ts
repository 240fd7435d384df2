// Workflow tests on the real time-skipping test server, with in-memory activities (test/helpers/fake-activities).
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createTimeSkippingEnv } from '../helpers/temporal';
import { createFakeWorld } from '../helpers/fake-activities';
import { useFakeWorkerEnv } from '../helpers/fake-worker';
import { testPipeline } from '../helpers/pipeline';
import { trainingWorkflow, deploymentWorkflow, trainingStatusQuery, deploymentStatusQuery } from '../../workflows';
import { temporal } from '@temporalio/proto';
import { ErrorType } from '../../common/errors';

const t = useFakeWorkerEnv(createTimeSkippingEnv);
const withWorker = t.withWorker.bind(t);

test('a new model is trained from scratch, registered and published', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  const result = await withWorker(world, (taskQueue) =>
    t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `train-new-${t.n}`, args: [{ pipeline, commit: 'c1' }] }),
  );
  expect(result.status).toBe('trained');
  if (result.status !== 'trained') return;
  expect(result.modelVersion.version).toBe(1);
  expect(result.outputCommit).toBe('out1');
  expect(world.calls).toEqual([
    'lookupModel:dogs-and-cats',
    'diffCommit:c1:-',
    'fetchExperiment:main',
    'submitExperiment:c1:scratch',
    'waitForExperiment:1',
    'waitForExperiment:1',
    'registerModelVersion:1',
    'publishModel:1',
  ]);
});

test('a second commit continues from the latest checkpoint and diffs against the commit it was trained on', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    await t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `train-a-${t.n}`, args: [{ pipeline, commit: 'c1' }] });
    const handle = await t.env.client.workflow.start(trainingWorkflow, { taskQueue, workflowId: `train-b-${t.n}`, args: [{ pipeline, commit: 'c3' }] });
    const second = await handle.result();
    expect(second.status).toBe('trained');
    const status = await handle.query(trainingStatusQuery);
    expect(status.steps.map((s) => s.name)).toEqual([
      'lookup-model',
      'diff-commit',
      'fetch-experiment',
      'submit-experiment',
      'wait-experiment',
      'register-version',
      'publish-model',
    ]);
    expect(status.steps.every((s) => s.outcome === 'ok' && typeof s.durationMs === 'number')).toBe(true);
    expect(status.experiment).toEqual({ experimentId: 2, state: 'COMPLETED', progress: 1 });
  });
  expect(world.calls).toContain('diffCommit:c3:c1');
  expect(world.calls).toContain('submitExperiment:c3:ckpt-1');
  expect(world.versions.map((v) => v.version)).toEqual([1, 2]);
});

test.each([
  ['empty', 'the commit adds or changes no file'],
  ['deletions-only', 'the commit only deletes files: nothing new to train on'],
] as const)('a commit whose diff is %s is skipped with a reason, and nothing is submitted', async (kind, reason) => {
  const world = createFakeWorld();
  world.diffKind.c9 = kind;
  const result = await withWorker(world, (taskQueue) =>
    t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `train-skip-${t.n}`, args: [{ pipeline: testPipeline(), commit: 'c9' }] }),
  );
  expect(result).toMatchObject({ status: 'skipped', reason });
  expect(world.calls.some((c) => c.startsWith('submitExperiment'))).toBe(false);
});

test('an experiment ending in ERROR fails the training with a typed error; nothing is registered or published', async () => {
  const world = createFakeWorld();
  world.failingCommits.add('bad');
  const err = await withWorker(world, (taskQueue) =>
    t.env.client.workflow
      .execute(trainingWorkflow, { taskQueue, workflowId: `train-err-${t.n}`, args: [{ pipeline: testPipeline(), commit: 'bad' }] })
      .then(() => null, (e: unknown) => e),
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(ErrorType.ExperimentFailed);
  expect((cause as ApplicationFailure).message).toMatch(/ended in ERROR/);
  expect(world.versions).toHaveLength(0);
  expect(world.outputCommits).toHaveLength(0);
});

test('a deployment that goes Failed is rolled back to the version that served before', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    // Version 1 trained, published and deployed.
    await t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `t1-${t.n}`, args: [{ pipeline, commit: 'c1' }] });
    const first = await t.env.client.workflow.execute(deploymentWorkflow, {
      taskQueue,
      workflowId: `d1-${t.n}`,
      args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: 'out1', reason: 'cascade' }],
    });
    expect(first.status).toBe('deployed');
    // Replaced concurrently: in either order.
    expect([...world.detectors].sort()).toEqual(['drift:dogcat-deploy', 'outlier:dogcat-deploy']);

    // Version 2 crashes on start.
    await t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `t2-${t.n}`, args: [{ pipeline, commit: 'c2' }] });
    world.failingVersions.add(2);
    const err = await t.env.client.workflow
      .execute(deploymentWorkflow, {
        taskQueue,
        workflowId: `d2-${t.n}`,
        args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: 'out2', reason: 'cascade' }],
      })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(ErrorType.DeploymentFailed);
    expect(cause.message).toMatch(/image crashed.*rolled back to version 1/);
  });
  expect(world.deployed).toMatchObject({ registryVersion: 1, state: 'Available', outputCommit: 'out1' });
  expect(world.calls.filter((c) => c.startsWith('deployModel'))).toEqual(['deployModel:1', 'deployModel:2', 'deployModel:1']);
  // Each wait is for its own deploy's write, the rollback's too (right after it, the status is still the failed rollout's).
  expect(world.calls.filter((c) => c.startsWith('waitForDeploymentReady'))).toEqual([
    'waitForDeploymentReady:1@rv1',
    'waitForDeploymentReady:2@rv2',
    'waitForDeploymentReady:1@rv3',
  ]);
});

test('the promotion gate (off by default) deploys only a version whose metric beats the deployed one', async () => {
  const world = createFakeWorld();
  const base = testPipeline();
  const pipeline = testPipeline({ deployment: { ...base.deployment, promotionGate: true } });
  const deploy = (taskQueue: string, outputCommit: string) =>
    t.env.client.workflow.execute(deploymentWorkflow, {
      taskQueue,
      workflowId: `gate-${outputCommit}-${t.n}`,
      args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit, reason: 'cascade' }],
    });
  await withWorker(world, async (taskQueue) => {
    for (const commit of ['g1', 'g2', 'g3', 'g4']) {
      await t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `gate-train-${commit}-${t.n}`, args: [{ pipeline, commit }] });
    }
    world.outputCommits[1].info.metric = 0.1; // version 2 is worse than version 1 (0.5)
    world.outputCommits[3].info.metric = null; // version 4 has no metric: never better (issue 19)
    expect(await deploy(taskQueue, 'out1')).toMatchObject({ status: 'deployed' });
    expect(await deploy(taskQueue, 'out2')).toMatchObject({
      status: 'skipped',
      reason: 'promotion gate: accuracy 0.1 does not beat the deployed version\'s 0.5',
    });
    expect(await deploy(taskQueue, 'out3')).toMatchObject({ status: 'deployed' });
    expect(await deploy(taskQueue, 'out4')).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/^promotion gate: \S+ version 4 has no accuracy to compare with the deployed version's 0\.52$/),
    });
  });
  expect(world.calls.filter((c) => c.startsWith('deployModel'))).toEqual(['deployModel:1', 'deployModel:3']);
});

test('cancelling a training kills its Determined experiment; nothing is registered', async () => {
  const world = createFakeWorld();
  world.holdExperiments = true;
  await withWorker(world, async (taskQueue) => {
    const handle = await t.env.client.workflow.start(trainingWorkflow, {
      taskQueue,
      workflowId: `train-cancel-${t.n}`,
      args: [{ pipeline: testPipeline(), commit: 'c1' }],
    });
    while (world.calls.filter((c) => c.startsWith('waitForExperiment')).length < 2) await new Promise((r) => setTimeout(r, 50));
    await handle.cancel();
    const err = await handle.result().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause)).toMatch(/cancel/i);
  });
  expect(world.killed).toEqual([1]);
  expect(world.versions).toHaveLength(0);
});

test('quick reads run as local activities, and independent calls concurrently, with overlapping steps in the status', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    const training = await t.env.client.workflow.start(trainingWorkflow, { taskQueue, workflowId: `la-train-${t.n}`, args: [{ pipeline, commit: 'c1' }] });
    expect(await training.result()).toMatchObject({ status: 'trained', outputCommit: 'out1' });
    const deployment = await t.env.client.workflow.start(deploymentWorkflow, {
      taskQueue,
      workflowId: `la-deploy-${t.n}`,
      args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: 'out1', reason: 'cascade' }],
    });
    expect(await deployment.result()).toMatchObject({ status: 'deployed' });

    // lookupModel, readModelInfo and getDeployedModel left local activity markers, not activity tasks.
    const trainingHistory = await historySummary(training.fetchHistory());
    expect(trainingHistory.localActivities).toEqual(['lookupModel']);
    expect(trainingHistory.activityBatches.flat()).not.toContain('lookupModel');
    const deploymentHistory = await historySummary(deployment.fetchHistory());
    expect([...deploymentHistory.localActivities].sort()).toEqual(['getDeployedModel', 'readModelInfo']);
    // Both detectors were scheduled by the same workflow task.
    expect(deploymentHistory.activityBatches).toEqual([['deployModel'], ['waitForDeploymentReady'], ['replaceDetector', 'replaceDetector']]);

    const status = await deployment.query(deploymentStatusQuery);
    expect(status.step).toBe('done');
    expect(status.steps.map((s) => s.name)).toEqual(['read-model-info', 'read-deployed', 'deploy', 'wait-ready', 'drift-detector', 'outlier-detector']);
    expect(status.steps.every((s) => s.outcome === 'ok')).toBe(true);
    const [info, deployed, deploy] = status.steps;
    // The two reads started together, and the deploy after both ended.
    expect(info.startedAt).toBe(deployed.startedAt);
    expect(Date.parse(deploy.startedAt)).toBeGreaterThanOrEqual(Math.max(Date.parse(info.endedAt!), Date.parse(deployed.endedAt!)));
  });
  expect([...world.detectors].sort()).toEqual(['drift:dogcat-deploy', 'outlier:dogcat-deploy']);
});

/** Local activities by type, and activity types grouped by the workflow task that scheduled them. */
async function historySummary(history: Promise<temporal.api.history.v1.IHistory>): Promise<{ localActivities: string[]; activityBatches: string[][] }> {
  const localActivities: string[] = [];
  const activityBatches: string[][] = [];
  let batch: string[] | null = null;
  for (const e of (await history).events ?? []) {
    if (e.workflowTaskCompletedEventAttributes) batch = null;
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const data = marker.details?.data?.payloads?.[0]?.data;
      localActivities.push((JSON.parse(Buffer.from(data ?? []).toString('utf8')) as { activity_type: string }).activity_type);
    }
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      if (!batch) activityBatches.push((batch = []));
      batch.push(scheduled.activityType?.name ?? '?');
    }
  }
  return { localActivities, activityBatches };
}

test('a second deployment keeps the identical detectors and says so; every activity carries a summary for the UI', async () => {
  const world = createFakeWorld();
  const pipeline = testPipeline();
  await withWorker(world, async (taskQueue) => {
    const deploy = async (id: string, outputCommit: string) => {
      const handle = await t.env.client.workflow.start(deploymentWorkflow, {
        taskQueue,
        workflowId: `${id}-${t.n}`,
        args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit, reason: 'cascade' }],
      });
      expect(await handle.result()).toMatchObject({ status: 'deployed' });
      return handle;
    };
    const training = await t.env.client.workflow.start(trainingWorkflow, { taskQueue, workflowId: `sum-train-${t.n}`, args: [{ pipeline, commit: 'c1' }] });
    await training.result();
    await t.env.client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: `sum-train2-${t.n}`, args: [{ pipeline, commit: 'c2' }] });
    const first = await deploy('kept-first', 'out1');
    const second = await deploy('kept-second', 'out2');
    const detectorSteps = async (h: typeof first) =>
      (await h.query(deploymentStatusQuery)).steps.filter((s) => s.name.endsWith('-detector')).map((s) => `${s.name}: ${s.detail}`);
    expect(await detectorSteps(first)).toEqual(['drift-detector: dogcat-deploy created', 'outlier-detector: dogcat-deploy created']);
    expect(await detectorSteps(second)).toEqual(['drift-detector: dogcat-deploy kept', 'outlier-detector: dogcat-deploy kept']);

    // The summaries the UI shows on the timeline's bars, one per scheduled activity and local activity.
    const summaries = async (h: { fetchHistory(): Promise<temporal.api.history.v1.IHistory> }) => {
      const events = (await h.fetchHistory()).events ?? [];
      const decode = (p?: temporal.api.common.v1.IPayload | null) => (p?.data ? (JSON.parse(Buffer.from(p.data).toString('utf8')) as string) : null);
      const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
      const local = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
      return { scheduled: scheduled.map((e) => decode(e.userMetadata?.summary)), local: local.map((e) => decode(e.userMetadata?.summary)) };
    };
    const trainingSummaries = await summaries(training);
    expect(trainingSummaries.scheduled).toEqual([
      'diff dogs-and-cats@c1 against nothing (first training)',
      'fetch file:///tmp/experiment@main',
      'submit fake on dogs-and-cats@c1',
      'wait for experiment 1 to leave UNSPECIFIED',
      expect.stringMatching(/^wait for experiment 1 to leave [A-Z]+$/),
      ...Array(trainingSummaries.scheduled.length - 7).fill(expect.stringMatching(/^wait for experiment 1 to leave [A-Z]+$/)),
      "register experiment 1's best checkpoint as dogs-and-cats",
      'publish dogs-and-cats version 1 to dogs-and-cats-model@master',
    ]);
    const deploymentSummaries = await summaries(second);
    expect(deploymentSummaries.scheduled).toEqual([
      'roll out dogs-and-cats version 2 to seldon/dogcat-deploy',
      'wait until seldon/dogcat-deploy is Available',
      'drift detector of seldon/dogcat-deploy',
      'outlier detector of seldon/dogcat-deploy',
    ]);
    expect(deploymentSummaries.local.every((s) => s !== null)).toBe(true);
  });
});
