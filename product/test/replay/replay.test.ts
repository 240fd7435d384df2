// Replays histories recorded from real runs (stack/scripts/record-histories.ts) against the current
// workflow code. A change that would break running executions fails here: guard it with patched().
// All histories go through one Worker.runReplayHistories call: one workflow bundle for all of them.
import fs from 'node:fs';
import path from 'node:path';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createTracing } from '../../worker/tracing';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';

const dir = path.join(__dirname, '..', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

function load(file: string): { workflowId: string; history: temporal.api.history.v1.IHistory } {
  const { workflowId, ...json } = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { workflowId: string };
  return { workflowId, history: historyFromJSON(json) };
}

/** Replays the files in one call; returns, per file, the error's message or null. */
async function replayAll(workflowsPath: string, names: string[], options: Partial<ReplayWorkerOptions> = {}): Promise<Record<string, string | null>> {
  const outcome: Record<string, string | null> = {};
  let i = 0;
  // Results come back in the order the histories were given.
  for await (const result of Worker.runReplayHistories({ workflowsPath, ...options }, names.map(load))) {
    expect(result.workflowId).toBe(load(names[i]).workflowId);
    outcome[names[i++]] = result.error ? String(result.error.message ?? result.error) : null;
  }
  expect(i).toBe(names.length);
  return outcome;
}

test('there are recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(13);
});

test('every recorded history replays against the current workflow code', async () => {
  const outcome = await replayAll(require.resolve('../../workflows'), files);
  expect(outcome).toEqual(Object.fromEntries(files.map((f) => [f, null])));
});

// Tracing (worker/tracing.ts) adds workflow interceptors, which run Update handlers a few microtasks later.
// The histories recorded without them must replay with them (and the reverse, by the same argument), so
// that tracing can be switched on or off while workflows run.
test('the recorded histories replay with the tracing interceptors', async () => {
  const { interceptors, sinks } = createTracing(new SimpleSpanProcessor(new InMemorySpanExporter()), false).workerOptions(false);
  const outcome = await replayAll(require.resolve('../../workflows'), files, { interceptors: { workflowModules: interceptors?.workflowModules }, sinks });
  expect(outcome).toEqual(Object.fromEntries(files.map((f) => [f, null])));
}, 120_000);

/**
 * A copy of the workflow sources with `edit` applied to one file, beside the real ones (so their imports
 * and node_modules resolve), removed afterwards.
 */
function withEditedWorkflows<T>(file: string, edit: (source: string) => string, fn: (workflowsPath: string) => Promise<T>): Promise<T> {
  const product = path.join(__dirname, '..', '..');
  const copy = fs.mkdtempSync(path.join(product, '.replay-edit-'));
  fs.cpSync(path.join(product, 'workflows'), path.join(copy, 'workflows'), { recursive: true });
  fs.cpSync(path.join(product, 'common'), path.join(copy, 'common'), { recursive: true });
  const target = path.join(copy, 'workflows', file);
  const before = fs.readFileSync(target, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before);
  fs.writeFileSync(target, after);
  return fn(path.join(copy, 'workflows', 'index.ts')).finally(() => fs.rmSync(copy, { recursive: true, force: true }));
}

test('a sleep after each training in repository.ts (no patched()) fails the replay of the repository histories', async () => {
  const repositoryHistories = files.filter((f) => JSON.stringify(load(f).history.events?.[0]).includes('repositoryWorkflow'));
  expect(repositoryHistories.length).toBeGreaterThanOrEqual(1);
  const outcome = await withEditedWorkflows(
    'repository.ts',
    (src) =>
      src
        .replace("import {\n  CancellationScope,", "import {\n  sleep,\n  CancellationScope,")
        .replace('      showDetails();\n    }\n  }\n}\n', "      showDetails();\n    }\n    await sleep('1s');\n  }\n}\n"),
    (workflowsPath) => replayAll(workflowsPath, repositoryHistories),
  );
  for (const f of repositoryHistories) expect([f, outcome[f]]).toEqual([f, expect.stringMatching(/[Nn]ondetermin/)]);
}, 120_000);

test('an incompatible change to a workflow fails the replay (the check can fail)', async () => {
  const outcome = await replayAll(require.resolve('./fixtures/changed-workflows'), ['training-new-model.json']);
  expect(outcome['training-new-model.json']).toMatch(/[Nn]ondetermin/);
});
