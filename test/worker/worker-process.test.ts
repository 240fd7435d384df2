// The worker as operators run it: a process configured from its environment, with JSON logs, a
// Prometheus endpoint, a clear one-line error on bad configuration, and a clean exit on SIGTERM.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLocalEnv } from '../helpers/temporal';
import { testPipeline } from '../helpers/pipeline';
import { trainingWorkflow } from '../../workflows';

const root = path.join(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-worker-'));

function startWorker(env: Record<string, string>) {
  const child = spawn(tsx, [path.join(root, 'worker', 'main.ts')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const connections = {
  PACHD_URL: 'http://127.0.0.1:1',
  DET_MASTER: 'http://127.0.0.1:1',
  DET_USER: 'determined',
  DET_PASSWORD: 'unused',
  SELDON_URL: 'http://127.0.0.1:1',
  SELDON_CLIENT_SECRET: 'unused',
  CT_CACHE_DIR: cacheDir,
};

afterAll(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

test('bad configuration: exit 1 with one error listing every problem', async () => {
  const w = startWorker({ PACHD_URL: 'ftp://x', DET_MASTER: '', DET_USER: '', DET_PASSWORD: '', SELDON_URL: '', CT_CACHE_DIR: cacheDir });
  expect(await w.exited).toBe(1);
  const message = w.stderr().trim();
  expect(message).toMatch(/^invalid worker configuration:/);
  for (const name of ['PACHD_URL must be an http(s) URL', 'DET_MASTER is required', 'DET_USER is required', 'SELDON_URL is required']) {
    expect(message).toContain(name);
  }
}, 60_000);

describe('with a dev server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await createLocalEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  test('JSON logs, Prometheus metrics, processes workflows, exits 0 on SIGTERM', async () => {
    const metricsPort = await freePort();
    const w = startWorker({
      ...connections,
      TEMPORAL_ADDRESS: env.address,
      CT_TASK_QUEUE: 'worker-process',
      CT_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    });
    try {
      for (let i = 0; i < 200 && !w.stderr().includes('worker started'); i++) await new Promise((r) => setTimeout(r, 100));
      const started = w.stderr().split('\n').find((l) => l.includes('worker started'));
      expect(JSON.parse(started ?? '{}')).toMatchObject({ msg: 'worker started', taskQueue: 'worker-process' });

      // A real workflow task: the training fails fast on the unreachable systems, proving the worker runs it.
      const handle = await env.client.workflow.start(trainingWorkflow, {
        taskQueue: 'worker-process',
        workflowId: 'worker-process-run',
        args: [{ pipeline: testPipeline(), commit: 'c1' }],
      });
      for (let i = 0; i < 100; i++) {
        const history = await handle.fetchHistory();
        if (history.events?.some((e) => e.activityTaskStartedEventAttributes)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/temporal_worker_task_slots_available|temporal_workflow_task_/);
      await handle.terminate('test done');
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
  }, 120_000);
});
