// The Temporal web UI, in a real browser, shows our runs filtered by our custom search attributes:
// a dev server with its UI, the real training workflow (in-memory activities) run three times — a
// success and a failure on repo dogs-and-cats, one success on another repo — then headless chromium
// opens the UI's list with the query CtRepo="dogs-and-cats" and must show exactly the first two, with
// their statuses. Then a whole pipeline (repository → training, deployer → deployment) is filtered by
// CtPipeline: every run is listed, a training's page shows its summary, the repository's page its
// current details (queue, running training, paused). Screenshots are left in the temp dir for a person to look at.
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import type { Browser, Page } from 'playwright-core';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { trainingWorkflow, repositoryStatusQuery, deployerStatusQuery, pauseSignal } from 'continuous-training/workflows';
import { requestDeploy, triggerCommit } from 'continuous-training/client/signals';
import { createFakeActivities, createFakeWorld } from 'continuous-training/test/helpers/fake-activities';
import { testPipeline } from 'continuous-training/test/helpers/pipeline';
import { browserUnavailableReason, createLocalEnvWithUi, freePort, isCI, launchChromium } from './helpers/browser';
import { testWorkflowBundle } from 'continuous-training/test/helpers/workflow-bundle';

const unavailable = browserUnavailableReason();
// Without chromium: skipped locally (setup.sh says how to install it), a failure under CI.
const maybe = unavailable && !isCI ? describe.skip : describe;
if (unavailable && !isCI) console.warn(`UI test skipped: ${unavailable}`);

const REPO = 'dogs-and-cats';
const QUERY = `CtRepo="${REPO}"`;
const SCREENSHOT = path.join(os.tmpdir(), 'ct-ui-workflows.png');
const README_SCREENSHOT = path.join(projectRoot, 'docs', 'ui-pipeline-runs.png');
const PIPELINE = 'ui-shapes';
const PIPELINE_QUERY = `CtPipeline="${PIPELINE}"`;

maybe('Temporal UI', () => {
  let env: TestWorkflowEnvironment | undefined;
  let browser: Browser | undefined;
  let uiPort = 0;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  const pipelineRuns: Record<'repository' | 'training' | 'deployer' | 'deployment', { workflowId: string; runId: string }> = {} as never;
  const taskQueue = 'ui-test';
  const ids = { ok: 'ui-train-dogs-ok', failed: 'ui-train-dogs-failed', other: 'ui-train-other-ok' };

  beforeAll(async () => {
    if (unavailable) throw new Error(unavailable); // only reached under CI=true
    uiPort = await freePort();
    env = await createLocalEnvWithUi(uiPort);
    const world = createFakeWorld();
    world.failingCommits.add('bad'); // its experiment ends in ERROR: the training fails
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...testWorkflowBundle(),
      activities: createFakeActivities(world),
    });
    // The worker keeps running during the tests: the UI reads the current details by a query.
    workerRun = worker.run();
    const client = env.client;
    const other = testPipeline({ name: 'other', modelName: 'other', input: { project: 'default', repo: 'other-repo', branch: 'master' } });
    await client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: ids.ok, args: [{ pipeline: testPipeline(), commit: 'c1' }] });
    await client.workflow
      .execute(trainingWorkflow, { taskQueue, workflowId: ids.failed, args: [{ pipeline: testPipeline(), commit: 'bad' }] })
      .then(
        () => {
          throw new Error('the training of commit "bad" should have failed');
        },
        () => undefined,
      );
    await client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: ids.other, args: [{ pipeline: other, commit: 'o1' }] });

    // A whole pipeline as the watcher drives it: a commit trains, its output commit deploys; then the
    // repository is paused with one commit waiting.
    const pipeline = testPipeline({ name: PIPELINE, modelName: 'ui-shapes', input: { project: 'default', repo: 'ui-shapes', branch: 'master' } });
    const repository = client.workflow.getHandle((await triggerCommit(client, taskQueue, pipeline, 'u1')).workflowId);
    await waitFor(async () => (await repository.query(repositoryStatusQuery)).processed === 1, 30_000);
    const trained = (await repository.query(repositoryStatusQuery)).recent[0];
    expect(trained.outcome).toBe('completed');
    const deployer = client.workflow.getHandle((await requestDeploy(client, taskQueue, pipeline, world.outputCommits[world.outputCommits.length - 1].id, 'cascade')).workflowId);
    await waitFor(async () => (await deployer.query(deployerStatusQuery)).processed === 1, 30_000);
    const deployed = (await deployer.query(deployerStatusQuery)).recent[0];
    expect(deployed.outcome).toBe('completed');
    await repository.signal(pauseSignal);
    await triggerCommit(client, taskQueue, pipeline, 'u2');
    await waitFor(async () => (await repository.query(repositoryStatusQuery)).pending.length === 1, 10_000);
    const runOf = async (workflowId: string) => ({ workflowId, runId: (await client.workflow.getHandle(workflowId).describe()).runId });
    pipelineRuns.repository = await runOf(repository.workflowId);
    pipelineRuns.training = await runOf(trained.workflowId);
    pipelineRuns.deployer = await runOf(deployer.workflowId);
    pipelineRuns.deployment = await runOf(deployed.workflowId);

    // Visibility is eventually consistent: wait until the server itself answers the queries, so the
    // pages below are judged on what the UI renders, not on indexing lag.
    await waitFor(async () => (await countRuns(client, QUERY)) === 2, 20_000);
    await waitFor(async () => (await countRuns(client, PIPELINE_QUERY)) === 4, 20_000);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    worker?.shutdown();
    await workerRun;
    await env?.teardown();
  });

  test('the workflow list filtered by CtRepo shows the repo runs and their status, and nothing else', async () => {
    const page = await browser!.newPage({ viewport: { width: 1600, height: 900 } });
    const url = `http://127.0.0.1:${uiPort}/namespaces/default/workflows?query=${encodeURIComponent(QUERY)}`;
    await page.goto(url, { waitUntil: 'domcontentloaded' });

    // One table row per run; each row carries its status badge (rendered upper-case by CSS).
    const okRow = page.locator('tr', { hasText: ids.ok });
    const failedRow = page.locator('tr', { hasText: ids.failed });
    await okRow.first().waitFor({ timeout: 30_000 });
    await failedRow.first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // The page's own count: exactly the two runs of the repo.
    expect(await page.getByText(/^\s*2 Workflows\s*$/).count()).toBe(1);
    expect(await okRow.count()).toBe(1);
    expect(await failedRow.count()).toBe(1);
    expect(await okRow.innerText()).toMatch(/\bCompleted\b/i);
    expect(await failedRow.innerText()).toMatch(/\bFailed\b/i);
    expect(await okRow.innerText()).toMatch(/trainingWorkflow/);
    // The run on the other repo is filtered out by the query.
    expect(await page.locator('tr', { hasText: ids.other }).count()).toBe(0);
    // The query the page applied is ours (the UI shows it in its filter box).
    expect(await page.content()).toContain('CtRepo');
    await page.close();
  });

  test('the pipeline filter lists the repository, training, deployer and deployment runs', async () => {
    const page = await browser!.newPage({ viewport: { width: 1600, height: 900 } });
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows?query=${encodeURIComponent(PIPELINE_QUERY)}`, { waitUntil: 'domcontentloaded' });
    for (const [kind, run] of Object.entries(pipelineRuns)) {
      const row = page.locator('tr', { hasText: run.workflowId });
      await row.first().waitFor({ timeout: 30_000 });
      expect([kind, await row.count()]).toEqual([kind, 1]);
      expect(await row.innerText()).toContain(`${kind}Workflow`);
    }
    // The README's picture of the UI: taken here, so it shows what the product does today.
    await page.screenshot({ path: README_SCREENSHOT });
    expect(await page.getByText(/^\s*4 Workflows\s*$/).count()).toBe(1);
    // Runs of other pipelines are filtered out.
    expect(await page.locator('tr', { hasText: ids.ok }).count()).toBe(0);
    await page.close();
  });

  test("a training's page shows its summary and details", async () => {
    const page = await browser!.newPage({ viewport: { width: 1600, height: 1200 } });
    const { workflowId, runId } = pipelineRuns.training;
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`, { waitUntil: 'domcontentloaded' });
    await page.getByText('User Metadata').first().click();
    // The summary and the details as the UI renders them (markdown, in frames of their own, which may
    // come one after the other): wait for all of it.
    const text = await waitForText(
      page,
      /^(?=[\s\S]*Summary[\s\S]*train ui-shapes on ui-shapes@u1)(?=[\s\S]*pipeline ui-shapes: )(?=[\s\S]*commits: u1)/,
    );
    await page.screenshot({ path: path.join(os.tmpdir(), 'ct-ui-training.png'), fullPage: true });
    expect(text).toMatch(/pipeline ui-shapes: default\/ui-shapes@master → default\/dogs-and-cats-model@master/);
    expect(text).toMatch(/commits: u1/);
    await page.close();
  });

  test("the repository's page shows its current details: paused, the queue, no training running", async () => {
    const page = await browser!.newPage({ viewport: { width: 1600, height: 1200 } });
    const { workflowId, runId } = pipelineRuns.repository;
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`, { waitUntil: 'domcontentloaded' });
    await page.getByText('User Metadata').first().click();
    const text = await waitForText(page, /Current Details[\s\S]*state: paused/);
    await page.screenshot({ path: path.join(os.tmpdir(), 'ct-ui-repository.png'), fullPage: true });
    expect(text).toMatch(/queue: 1 waiting \(u2\)/);
    expect(text).toMatch(/running: none/);
    expect(text).toMatch(/u1: completed/);
    await page.close();
  });
});

/** The text a person sees on the page, its frames included, once it matches `pattern`. */
async function waitForText(page: Page, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  let text = '';
  const read = async () => {
    const parts = await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')));
    text = parts.join('\n');
    return pattern.test(text);
  };
  await waitFor(read, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message}: ${pattern} not in the page's text:\n${text}`);
  });
  return text;
}

async function countRuns(client: TestWorkflowEnvironment['client'], query: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query })) n++;
  return n;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
