// The Temporal web UI against the cluster stack: the real UI server (ui-server v2.58.1, built by
// scripts/temporal-cluster.sh) in front of the real server on PostgreSQL with SQL visibility. The real training
// workflow (in-memory activities) runs three times — a success and a failure on pipeline/repo dogs-and-cats, one
// success on another — then headless chromium opens the UI's list filtered by each of CtPipeline, CtRepo and
// CtModelVersion and must show exactly the runs the query selects, with their statuses.
import type { Browser } from 'playwright-core';
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { trainingWorkflow } from 'continuous-training/workflows';
import { createFakeActivities, createFakeWorld } from 'continuous-training/test/helpers/fake-activities';
import { testPipeline } from 'continuous-training/test/helpers/pipeline';
import { browserUnavailableReason, launchChromium } from '../helpers/browser';
import { describeOnCluster, isCI, startTemporalTarget, type TemporalTarget } from '../helpers/temporal-target';
import { testWorkflowBundle } from 'continuous-training/test/helpers/workflow-bundle';

const noBrowser = browserUnavailableReason();
// Without chromium: skipped locally (setup.sh says how to install it), a failure under CI.
const maybe = noBrowser && !isCI ? describe.skip : describeOnCluster;
if (noBrowser && !isCI) console.warn(`cluster UI test skipped: ${noBrowser}`);

const ids = { ok: 'ui-cluster-dogs-ok', failed: 'ui-cluster-dogs-failed', other: 'ui-cluster-other-ok' };

maybe('Temporal UI on the cluster', () => {
  let target: TemporalTarget | undefined;
  let browser: Browser | undefined;
  const taskQueue = 'ui-cluster-test';

  beforeAll(async () => {
    if (noBrowser) throw new Error(noBrowser); // only reached under CI=true
    target = await startTemporalTarget('cluster', { ui: true });
    const world = createFakeWorld();
    world.failingCommits.add('bad'); // its experiment ends in ERROR: the training fails before registering
    const worker = await Worker.create({
      connection: target.nativeConnection,
      namespace: target.namespace,
      taskQueue,
      ...testWorkflowBundle(),
      activities: createFakeActivities(world),
    });
    const client = target.client;
    const other = testPipeline({ name: 'other', modelName: 'other', input: { project: 'default', repo: 'other-repo', branch: 'master' } });
    await worker.runUntil(async () => {
      await client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: ids.ok, args: [{ pipeline: testPipeline(), commit: 'c1' }] });
      const failed = await client.workflow
        .execute(trainingWorkflow, { taskQueue, workflowId: ids.failed, args: [{ pipeline: testPipeline(), commit: 'bad' }] })
        .then(() => 'completed', () => 'failed');
      expect(failed).toBe('failed');
      await client.workflow.execute(trainingWorkflow, { taskQueue, workflowId: ids.other, args: [{ pipeline: other, commit: 'o1' }] });
    });
    // SQL visibility is written asynchronously (visibility tasks): wait until the server answers each query.
    for (const c of CASES) {
      let last: string[] = [];
      await waitFor(async () => (last = await listRuns(client, c.query)).length === c.shown.length, 30_000, () => `${c.query} lists ${JSON.stringify(last)}`);
    }
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await target?.close();
  }, 60_000);

  const CASES: { query: string; shown: (keyof typeof ids)[] }[] = [
    { query: 'CtPipeline="dogs-and-cats"', shown: ['ok', 'failed'] },
    { query: 'CtRepo="other-repo"', shown: ['other'] },
    // Only trainings that registered a version carry CtModelVersion: the failed one is not listed.
    { query: 'CtModelVersion >= 1', shown: ['ok', 'other'] },
  ];

  test.each(CASES)('the workflow list filtered by $query shows exactly those runs, with their status', async ({ query, shown }) => {
    const page = await browser!.newPage({ viewport: { width: 1600, height: 900 } });
    try {
      const url = `${target!.cluster!.uiUrl}/namespaces/${target!.namespace}/workflows?query=${encodeURIComponent(query)}`;
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      for (const key of shown) await page.locator('tr', { hasText: ids[key] }).first().waitFor({ timeout: 30_000 });
      const count = `${shown.length} Workflow${shown.length === 1 ? '' : 's'}`;
      expect(await page.getByText(new RegExp(`^\\s*${count}\\s*$`)).count()).toBe(1);
      for (const key of Object.keys(ids) as (keyof typeof ids)[]) {
        const row = page.locator('tr', { hasText: ids[key] });
        expect([key, await row.count()]).toEqual([key, shown.includes(key) ? 1 : 0]);
        if (shown.includes(key)) expect(await row.innerText()).toMatch(key === 'failed' ? /\bFailed\b/i : /\bCompleted\b/i);
      }
    } finally {
      await page.close();
    }
  });
});

async function listRuns(client: Client, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
