// The Temporal web UI, in a real browser, shows our runs filtered by our custom search attributes:
// a dev server with its UI, the real training workflow (in-memory activities) run three times — a
// success and a failure on repo dogs-and-cats, one success on another repo — then headless chromium
// opens the UI's list with the query CtRepo="dogs-and-cats" and must show exactly the first two, with
// their statuses. A screenshot is left in the temp dir for a person to look at.
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { trainingWorkflow } from 'continuous-training/workflows';
import { createFakeActivities, createFakeWorld } from 'continuous-training/test/helpers/fake-activities';
import { testPipeline } from 'continuous-training/test/helpers/pipeline';
import { browserUnavailableReason, createLocalEnvWithUi, freePort, isCI, launchChromium } from './helpers/browser';

const unavailable = browserUnavailableReason();
// Without chromium: skipped locally (setup.sh says how to install it), a failure under CI.
const maybe = unavailable && !isCI ? describe.skip : describe;
if (unavailable && !isCI) console.warn(`UI test skipped: ${unavailable}`);

const REPO = 'dogs-and-cats';
const QUERY = `CtRepo="${REPO}"`;
const SCREENSHOT = path.join(os.tmpdir(), 'ct-ui-workflows.png');

maybe('Temporal UI', () => {
  let env: TestWorkflowEnvironment | undefined;
  let browser: Browser | undefined;
  let uiPort = 0;
  const taskQueue = 'ui-test';
  const ids = { ok: 'ui-train-dogs-ok', failed: 'ui-train-dogs-failed', other: 'ui-train-other-ok' };

  beforeAll(async () => {
    if (unavailable) throw new Error(unavailable); // only reached under CI=true
    uiPort = await freePort();
    env = await createLocalEnvWithUi(uiPort);
    const world = createFakeWorld();
    world.failingCommits.add('bad'); // its experiment ends in ERROR: the training fails
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('continuous-training/workflows'),
      activities: createFakeActivities(world),
    });
    const client = env.client;
    const other = testPipeline({ name: 'other', modelName: 'other', input: { project: 'default', repo: 'other-repo', branch: 'master' } });
    await worker.runUntil(async () => {
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
    });
    // Visibility is eventually consistent: wait until the server itself answers the query, so the page
    // below is judged on what the UI renders, not on indexing lag.
    await waitFor(async () => (await countRuns(client, QUERY)) === 2, 20_000);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
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
});

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
