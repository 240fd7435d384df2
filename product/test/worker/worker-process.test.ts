// The worker as operators run it: a process configured from its environment, with JSON logs, a
// Prometheus endpoint, a clear one-line error on bad configuration, and a clean exit on SIGTERM.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { spawn } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLocalEnv } from '../helpers/temporal';
import { testPipeline } from '../helpers/pipeline';
import { trainingWorkflow, trainingStatusQuery } from '../../workflows';
import { compiledWorkerMain } from '../helpers/product-build';
import { testWorkflowBundlePath } from '../helpers/workflow-bundle';

const root = path.join(__dirname, '..', '..');
const tsx = path.join(root, '..', 'node_modules', '.bin', 'tsx'); // hoisted to the workspace root
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-worker-'));

/** worker/main.ts with tsx (`npm run worker`), or another command line (the compiled worker). */
function startWorker(env: Record<string, string>, command: string[] = [tsx, path.join(root, 'worker', 'main.ts')]) {
  const child = spawn(command[0], command.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const message = fatalError(w.stderr());
  expect(message).toMatch(/^invalid worker configuration:/);
  for (const name of ['PACHD_URL must be an http(s) URL', 'DET_MASTER is required', 'DET_USER is required', 'SELDON_URL is required']) {
    expect(message).toContain(name);
  }
}, 60_000);

test('a CT_WORKFLOW_BUNDLE that does not exist: exit 1 naming it', async () => {
  const w = startWorker({ ...connections, CT_WORKFLOW_BUNDLE: path.join(cacheDir, 'missing-bundle.js') });
  expect(await w.exited).toBe(1);
  expect(fatalError(w.stderr())).toMatch(/invalid worker configuration: CT_WORKFLOW_BUNDLE: no such file .*missing-bundle\.js/);
}, 60_000);

test.each([
  ['CT_SHUTDOWN_GRACE', 'soon', 'invalid worker configuration: CT_SHUTDOWN_GRACE: "soon" is not a duration'],
  ['CT_HEALTH_ADDRESS', '8080', 'CT_HEALTH_ADDRESS: "8080" is not host:port'],
])('a bad %s: exit 1 naming it', async (name, value, message) => {
  const w = startWorker({ ...connections, [name]: value });
  expect(await w.exited).toBe(1);
  expect(fatalError(w.stderr())).toContain(message);
}, 60_000);

/** The one line a worker that cannot start writes: a JSON log record (worker/json-log.ts) at level error. */
function fatalError(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  const record = JSON.parse(lines[0]) as { time: string; level: string; message: string };
  expect(record).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: 'error', message: expect.any(String) });
  return record.message;
}

describe('with a dev server', () => {
  let env: TestWorkflowEnvironment;
  // Stands in for the Determined master: records what the worker's activities ask, answers 503.
  const determinedRequests: string[] = [];
  const determined = http.createServer((req, res) => {
    determinedRequests.push(`${req.method} ${req.url}`);
    res.writeHead(503).end();
  });
  let determinedUrl = '';
  beforeAll(async () => {
    env = await createLocalEnv();
    await new Promise<void>((resolve) => determined.listen(0, '127.0.0.1', resolve));
    determinedUrl = `http://127.0.0.1:${(determined.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    determined.close();
    await env?.teardown();
  });

  async function waitStarted(w: ReturnType<typeof startWorker>): Promise<Record<string, unknown>> {
    for (let i = 0; i < 200 && !w.stderr().includes('worker started'); i++) await new Promise((r) => setTimeout(r, 100));
    const started = w.stderr().split('\n').find((l) => l.includes('worker started'));
    return JSON.parse(started ?? '{}') as Record<string, unknown>;
  }

  /**
   * A real training: the worker runs the workflow, which calls its first activity (lookupModel, a local
   * activity), whose first request (Determined's login) reaches the stand-in master.
   */
  async function expectWorkflowRuns(taskQueue: string): Promise<void> {
    const before = determinedRequests.length;
    const handle = await env.client.workflow.start(trainingWorkflow, {
      taskQueue,
      workflowId: `${taskQueue}-run`,
      args: [{ pipeline: testPipeline(), commit: 'c1' }],
    });
    for (let i = 0; i < 100 && determinedRequests.length === before; i++) await new Promise((r) => setTimeout(r, 100));
    // A query runs the workflow's code on the worker too (and, with the tracing interceptors, ends a span).
    expect(await handle.query(trainingStatusQuery)).toMatchObject({ commit: 'c1' });
    await handle.terminate('test done');
    expect(determinedRequests.slice(before)).toContain('POST /api/v1/auth/login');
  }

  test('compiled (tsconfig.build.json) on plain node with a prebuilt workflow bundle, as the Docker image runs it', async () => {
    // The run's compiled product and bundle (jest globalSetup), built as `npm run build` builds them.
    const bundle = testWorkflowBundlePath();
    // The node flags of `npm run worker:compiled` (the Dockerfile's CMD is checked against it in test/compose.test.ts).
    const script = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['worker:compiled'];
    const flags = script.split(' ').filter((a) => a.startsWith('--'));
    expect(flags).toContain('--max-semi-space-size=2');
    const w = startWorker({ ...connections, DET_MASTER: determinedUrl, TEMPORAL_ADDRESS: env.address, CT_TASK_QUEUE: 'worker-bundle', CT_WORKFLOW_BUNDLE: bundle }, [
      process.execPath,
      ...flags,
      compiledWorkerMain(),
    ]);
    try {
      expect(await waitStarted(w)).toMatchObject({ level: 'info', message: 'worker started', workflowBundle: bundle });
      await expectWorkflowRuns('worker-bundle');
      expect(w.stderr()).not.toContain('Workflow bundle created');
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
  }, 180_000);

  test('JSON logs, Prometheus metrics, processes workflows, exits 0 on SIGTERM', async () => {
    const metricsPort = await freePort();
    const w = startWorker({
      ...connections,
      DET_MASTER: determinedUrl,
      TEMPORAL_ADDRESS: env.address,
      CT_TASK_QUEUE: 'worker-process',
      CT_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    });
    try {
      expect(await waitStarted(w)).toMatchObject({ level: 'info', message: 'worker started', taskQueue: 'worker-process', workflowBundle: null });
      await expectWorkflowRuns('worker-process');
      expect(w.stderr()).toContain('Workflow bundle created'); // bundled at start (the check above can fail)
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/temporal_worker_task_slots_available|temporal_workflow_task_/);
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
  }, 120_000);
});
