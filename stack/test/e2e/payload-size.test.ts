// Bounded history: a commit of 100,000 files puts no payload larger than 64 KiB in any workflow
// history. The file list stays in Pachyderm; workflows only see counts and digests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { createLocalEnv } from 'continuous-training/test/helpers/temporal';
import { startLocalStack, type LocalStack } from '../../local-stack';
import { demoPipeline } from '../../demo-pipeline';
import { createWorker } from 'continuous-training/worker/create-worker';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { trainingWorkflow, deploymentWorkflow } from 'continuous-training/workflows';
import { testWorkflowBundlePath } from 'continuous-training/test/helpers/workflow-bundle';

const FILES = 100_000;
const LIMIT = 64 * 1024;

let env: TestWorkflowEnvironment;
let stack: LocalStack;
let worker: Worker;
let running: Promise<void>;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-payload-'));

beforeAll(async () => {
  env = await createLocalEnv();
  stack = await startLocalStack({ stateDir, mode: 'simulated', determinedDelays: { queuedMs: 0, pullingMs: 0, startingMs: 0, runningMs: 200 }, seldonAvailableDelayMs: 100 });
  worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: 'payload', connections: stack.connections , workflowBundlePath: testWorkflowBundlePath() });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await stack?.close();
  await env?.teardown();
  fs.rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

/** Every payload of an event, wherever it sits (inputs, results, failures, signals, heartbeats). */
function payloadSizes(value: unknown, out: number[] = []): number[] {
  if (!value || typeof value !== 'object') return out;
  const v = value as { data?: unknown; metadata?: unknown };
  if (v.metadata && v.data instanceof Uint8Array) out.push(v.data.length);
  for (const child of Object.values(value)) payloadSizes(child, out);
  return out;
}

test(`a commit of ${FILES.toLocaleString('en')} files: every payload stays under 64 KiB`, async () => {
  const pipeline = demoPipeline(stack.experimentRepo);
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) files[`/data/${['circle', 'square'][i % 2]}/${String(i).padStart(6, '0')}.pgm`] = `P2 ${i}`;
  const commit = await putFiles(stack.pachd.url, pipeline.input.repo, pipeline.input.branch, files);

  const training = await env.client.workflow.execute(trainingWorkflow, {
    taskQueue: 'payload',
    workflowId: `payload-train-${commit}`,
    args: [{ pipeline, commit }],
  });
  expect(training.status).toBe('trained');
  if (training.status !== 'trained') return;
  expect(training.diff.added.files).toBe(FILES);
  const deployment = await env.client.workflow.execute(deploymentWorkflow, {
    taskQueue: 'payload',
    workflowId: `payload-deploy-${commit}`,
    args: [{ deployment: pipeline.deployment, output: pipeline.output, outputCommit: training.outputCommit, reason: 'cascade' }],
  });
  expect(deployment.status).toBe('deployed');

  let events = 0;
  const sizes: number[] = [];
  for (const id of [`payload-train-${commit}`, `payload-deploy-${commit}`]) {
    const history: temporal.api.history.v1.IHistory = await env.client.workflow.getHandle(id).fetchHistory();
    events += history.events?.length ?? 0;
    payloadSizes(history, sizes);
  }
  expect(events).toBeGreaterThan(20);
  expect(sizes.length).toBeGreaterThan(20);
  expect(Math.max(...sizes)).toBeLessThan(LIMIT);
}, 300_000);
