// Deployed models as local processes: runtimes, the seldon-core environment, secrets, predictions, rolling updates,
// failures, restarts, and the standalone entry point.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startSeldonEmulator, type RunningSeldonEmulator, type SeldonEmulatorOptions } from '../seldon/emulator';
import { CheckedSeldonClient } from '../seldon/checked-client';
import type { SeldonDeployment } from '../seldon/types';

const NS = 'seldon';
const API = `/namespaces/${NS}/seldondeployments`;
const IMAGE = 'test/model:1';

// A tiny model server: healthy on /health/ping, predicts sum(row) * multiplier, and reports what it was given.
const MODEL_SERVER = `
const http = require('http');
const fs = require('fs');
const params = Object.fromEntries(JSON.parse(process.env.PREDICTIVE_UNIT_PARAMETERS || '[]').map((p) => [p.name, p.value]));
if (params.crash === 'true') { console.error('boom: cannot load model ' + params.model_version); process.exit(3); }
http.createServer((req, res) => {
  if (req.url === '/health/ping') {
    // Ready when allowed to be: never, once a file exists (the test decides when), or at once.
    const ready = params.never_ready !== 'true' && (!params.ready_file || fs.existsSync(params.ready_file));
    res.writeHead(ready ? 200 : 503);
    return res.end(ready ? 'pong' : 'loading');
  }
  if (req.method === 'POST' && req.url === '/api/v1.0/predictions') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const rows = JSON.parse(body).data.ndarray;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        data: { names: ['y'], ndarray: rows.map((r) => [r.reduce((a, x) => a + x, 0) * Number(params.multiplier || 1)]) },
        meta: { tags: {
          model_version: params.model_version, token: process.env.MODEL_TOKEN || null, extra: process.env.EXTRA || null,
          unit: process.env.PREDICTIVE_UNIT_ID, predictor: process.env.PREDICTOR_ID, sdep: process.env.SELDON_DEPLOYMENT_ID,
        } },
      }));
    });
    return;
  }
  res.writeHead(404);
  res.end();
}).listen(Number(process.env.PREDICTIVE_UNIT_HTTP_SERVICE_PORT), '127.0.0.1');
`;

interface Prediction {
  data: { ndarray: number[][] };
  meta: { tags: Record<string, string | null> };
}

function model(name: string, params: Record<string, string>, opts: { image?: string; secret?: string } = {}): SeldonDeployment {
  const container = `${name}-container`;
  return {
    apiVersion: 'machinelearning.seldon.io/v1',
    kind: 'SeldonDeployment',
    metadata: { name, namespace: NS },
    spec: {
      predictors: [
        {
          name: 'default',
          replicas: 1,
          traffic: 100,
          graph: { name: container, type: 'MODEL', parameters: Object.entries(params).map(([k, v]) => ({ name: k, type: 'STRING', value: v })) },
          componentSpecs: [
            {
              spec: {
                containers: [
                  {
                    name: container,
                    image: opts.image ?? IMAGE,
                    env: [{ name: 'EXTRA', value: 'from-env' }],
                    ...(opts.secret ? { envFrom: [{ secretRef: { name: opts.secret } }] } : {}),
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Seldon emulator runtimes', () => {
  let stateDir: string;
  let serverScript: string;
  let emulator: RunningSeldonEmulator | undefined;
  let client: CheckedSeldonClient;

  const start = async (extra: Partial<SeldonEmulatorOptions> = {}) => {
    emulator = await startSeldonEmulator({
      stateDir,
      availableDelayMs: 0,
      readinessTimeoutMs: 10_000,
      runtimes: [{ image: 'test/model:*', command: [process.execPath, serverScript] }],
      secrets: { [`${NS}/model-secret`]: { MODEL_TOKEN: 's3cr3t' } },
      ...extra,
    });
    client = new CheckedSeldonClient(emulator.url);
    await client.login();
    return emulator;
  };
  /** The settled status; `after` (the resourceVersion an update wrote) skips the stale status the update left. */
  const state = (name: string, after?: string) =>
    until(`${name} to settle`, async () => {
      const { body } = await client.call<SeldonDeployment>('GET', `${API}/${name}`);
      const s = body.status;
      return s && s.state !== 'Creating' && (after === undefined || body.metadata.resourceVersion !== after) ? s : undefined;
    });
  /** PUT at the resourceVersion just read, as Kubernetes requires. */
  const update = async (body: SeldonDeployment) => {
    const { name } = body.metadata;
    const { body: current } = await client.call<SeldonDeployment>('GET', `${API}/${name}`);
    const res = await client.call<SeldonDeployment>('PUT', `${API}/${name}`, { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } });
    expect(res.status).toBe(200);
    return res.body;
  };
  const predict = async (name: string, rows: number[][]) => {
    const res = await fetch(`${emulator!.url}/seldon/${NS}/${name}/api/v1.0/predictions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { ndarray: rows } }),
    });
    return { status: res.status, body: (await res.json()) as Prediction & { status?: { info: string } } };
  };
  const processes = async () =>
    ((await (await fetch(`${emulator!.url}/__emulator/processes`)).json()) as { processes: { deployment: string; generation: number; pid: number }[] })
      .processes;

  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'seldon-rt-'));
    serverScript = path.join(stateDir, 'model-server.js');
    fs.writeFileSync(serverScript, MODEL_SERVER);
  });
  afterEach(async () => {
    // Everything the emulator answered in the test, errors included, must validate against the real specs.
    expect(emulator?.contractViolations ?? []).toEqual([]);
    await emulator?.close();
    emulator = undefined;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('a matching runtime runs the model with the seldon-core environment and secrets; delete stops it', async () => {
    await start();
    await client.call('POST', API, model('iris', { model_version: '7', multiplier: '2' }, { secret: 'model-secret' }));
    expect((await state('iris')).state).toBe('Available');
    const { status, body } = await predict('iris', [[1, 2], [3, 4]]);
    expect(status).toBe(200);
    expect(body.data.ndarray).toEqual([[6], [14]]);
    expect(body.meta.tags).toEqual({
      model_version: '7',
      token: 's3cr3t',
      extra: 'from-env',
      unit: 'iris-container',
      predictor: 'default',
      sdep: 'iris',
    });

    const [proc] = await processes();
    expect(proc).toEqual(expect.objectContaining({ deployment: `${NS}/iris`, generation: 1 }));
    expect(alive(proc.pid)).toBe(true);
    await client.call('DELETE', `${API}/iris`);
    expect(alive(proc.pid)).toBe(false);
    expect(await processes()).toEqual([]);
    expect((await predict('iris', [[1]])).status).toBe(404);
  });

  test('rolling update: the old version serves until the new one is ready, then is stopped', async () => {
    await start();
    await client.call('POST', API, model('roll', { model_version: '1' }));
    await state('roll');
    const [v1] = await processes();

    const readyFile = path.join(stateDir, 'v2-ready');
    const updated = await update(model('roll', { model_version: '2', ready_file: readyFile }));
    // The update answers the previous status (a subresource): generation 1's Available, until the controller catches up.
    expect(updated.status?.state).toBe('Available');
    // While generation 2 is loading (its process runs but is not ready), generation 1 still answers.
    await until('v2 to start', async () => ((await processes()).some((p) => p.generation === 2) ? true : undefined));
    expect((await predict('roll', [[1]])).body.meta.tags.model_version).toBe('1');
    const during = (await client.call<SeldonDeployment>('GET', `${API}/roll`)).body.status;
    expect(during?.state).toBe('Creating');
    expect(during?.conditions?.find((c) => c.type === 'ServicesReady')?.status).toBe('True');
    fs.writeFileSync(readyFile, '');

    expect((await state('roll', updated.metadata.resourceVersion)).state).toBe('Available');
    expect((await predict('roll', [[1]])).body.meta.tags.model_version).toBe('2');
    await until('v1 to stop', async () => (alive(v1.pid) ? undefined : true));
    expect((await processes()).map((p) => p.generation)).toEqual([2]);
  });

  test('an update whose container crashes goes Failed with its stderr, and the old version keeps serving', async () => {
    await start();
    await client.call('POST', API, model('keep', { model_version: '1' }));
    await state('keep');
    const updated = await update(model('keep', { model_version: '2', crash: 'true' }));
    const failed = await state('keep', updated.metadata.resourceVersion);
    expect(failed.state).toBe('Failed');
    expect(failed.description).toMatch(/exit code 3/);
    expect(failed.description).toMatch(/boom: cannot load model 2/);
    const res = await predict('keep', [[5]]);
    expect(res.status).toBe(200);
    expect(res.body.meta.tags.model_version).toBe('1');
  });

  test('missing secret, readiness timeout, a command that cannot start, and unknown images', async () => {
    await start({
      readinessTimeoutMs: 400,
      runtimes: [
        { image: 'test/model:*', command: [process.execPath, serverScript] },
        { image: 'broken/cmd:1', command: [path.join(stateDir, 'no-such-binary')] },
      ],
    });
    await client.call('POST', API, model('nocmd', {}, { image: 'broken/cmd:1' }));
    const noCommand = await state('nocmd');
    expect(noCommand.state).toBe('Failed');
    expect(noCommand.description).toMatch(/container failed to start: .*ENOENT/);

    await client.call('POST', API, model('nosecret', { model_version: '1' }, { secret: 'absent' }));
    const noSecret = await state('nosecret');
    expect(noSecret.state).toBe('Failed');
    expect(noSecret.description).toMatch(/CreateContainerConfigError: secret "absent" not found/);
    const notAvailable = await predict('nosecret', [[1]]);
    expect(notAvailable.status).toBe(503);
    expect(notAvailable.body.status?.info).toMatch(/no available version/);

    await client.call('POST', API, model('stuck', { never_ready: 'true' }));
    const stuck = await state('stuck');
    expect(stuck.state).toBe('Failed');
    expect(stuck.description).toMatch(/did not become ready within 400 ms/);
    expect(await processes()).toEqual([]);

    await client.call('POST', API, model('simulated', {}, { image: 'someone/else:3' }));
    expect((await state('simulated')).state).toBe('Available');
    const simulated = await predict('simulated', [[1]]);
    expect(simulated.status).toBe(503);
    expect(simulated.body.status?.info).toMatch(/no runtime is configured for image someone\/else:3/);
  });

  test('secrets and runtimes can be set through control routes', async () => {
    const emu = await start({ runtimes: [] });
    await client.call('POST', API, model('late', { model_version: '1' }, { secret: 'late-secret' }));
    expect((await predict('late', [[1]])).status).toBe(503);
    const runtimes = await fetch(`${emu.url}/__emulator/runtimes`, {
      method: 'PUT',
      body: JSON.stringify({ runtimes: [{ image: 'test/model:*', command: [process.execPath, serverScript] }] }),
    });
    expect(runtimes.status).toBe(200);
    const badRuntime = await fetch(`${emu.url}/__emulator/runtimes`, { method: 'PUT', body: JSON.stringify({ runtimes: [{ image: 'x' }] }) });
    expect(badRuntime.status).toBe(400);
    expect(((await badRuntime.json()) as { message: string }).message).toMatch(/command must be a non-empty list/);
    const secret = await fetch(`${emu.url}/__emulator/secrets/${NS}/late-secret`, { method: 'PUT', body: JSON.stringify({ data: { MODEL_TOKEN: 'later' } }) });
    expect(secret.status).toBe(200);
    const badSecret = await fetch(`${emu.url}/__emulator/secrets/${NS}/x`, { method: 'PUT', body: JSON.stringify({ data: { K: 1 } }) });
    expect(badSecret.status).toBe(400);

    const updated = await update(model('late', { model_version: '2' }, { secret: 'late-secret' }));
    expect((await state('late', updated.metadata.resourceVersion)).state).toBe('Available');
    expect((await predict('late', [[1]])).body.meta.tags.token).toBe('later');
  });

  test('after a restart on the same state directory, Available deployments run again', async () => {
    await start();
    await client.call('POST', API, model('persist', { model_version: '4', multiplier: '3' }));
    await state('persist');
    const [before] = await processes();
    await emulator!.close();
    expect(alive(before.pid)).toBe(false);

    emulator = await startSeldonEmulator({ stateDir, availableDelayMs: 0 });
    client = new CheckedSeldonClient(emulator.url);
    await client.login();
    expect((await state('persist')).state).toBe('Available');
    const res = await predict('persist', [[1, 1]]);
    expect(res.status).toBe(200);
    expect(res.body.data.ndarray).toEqual([[6]]);
  });

  test('standalone entry: --help, prints its URL, serves, and stops its model processes on SIGTERM', async () => {
    const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
    const main = path.resolve(__dirname, '../seldon/main.ts');
    const help = spawn(tsx, [main, '--help']);
    let helpText = '';
    help.stdout.on('data', (d: Buffer) => (helpText += d.toString()));
    expect(await new Promise((r) => help.on('exit', r))).toBe(0);
    expect(helpText).toMatch(/--state-dir DIR/);

    const runtimesFile = path.join(stateDir, 'runtimes.json');
    fs.writeFileSync(runtimesFile, JSON.stringify([{ image: 'test/model:*', command: [process.execPath, serverScript] }]));
    const child = spawn(tsx, [main, '--state-dir', path.join(stateDir, 'cli'), '--runtimes', runtimesFile, '--available-delay-ms', '0', '--quiet']);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const url = await until('the URL', async () => /^(http:\/\/127\.0\.0\.1:\d+)\n/.exec(out)?.[1]);
      client = new CheckedSeldonClient(url);
      await client.login();
      await client.call('POST', API, model('cli', { model_version: '1' }));
      expect((await state('cli')).state).toBe('Available');
      const procs = (await (await fetch(`${url}/__emulator/processes`)).json()) as { processes: { pid: number }[] };
      expect(procs.processes).toHaveLength(1);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(alive(procs.processes[0].pid)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
