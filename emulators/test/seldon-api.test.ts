// The Seldon Deploy emulator's API: OIDC, SeldonDeployment CRUD and status, detectors, persistence, faults.
// Every request and answer goes through CheckedSeldonClient, which fails on anything the real specs reject.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { spawn } from 'node:child_process';
import { startSeldonEmulator, type RunningSeldonEmulator, type SeldonEmulatorOptions } from '../seldon/emulator';
import { CheckedSeldonClient, ContractViolation } from '../seldon/checked-client';
import { loadSeldonContract } from '../seldon/contract';
import type { DetectorData, SeldonDeployment } from '../seldon/types';

const NS = 'seldon';
const API = `/namespaces/${NS}/seldondeployments`;

function sdep(name: string, image = 'example/serve:1.0', extra: Record<string, unknown> = {}): SeldonDeployment {
  return {
    apiVersion: 'machinelearning.seldon.io/v1',
    kind: 'SeldonDeployment',
    metadata: { name, namespace: NS },
    spec: {
      name,
      predictors: [
        {
          name: 'default',
          replicas: 1,
          traffic: 100,
          graph: { name: `${name}-container`, type: 'MODEL', parameters: [{ name: 'model_version', type: 'STRING', value: '1' }] },
          componentSpecs: [{ spec: { containers: [{ name: `${name}-container`, image }] } }],
          ...extra,
        },
      ],
    },
  };
}

function driftDetector(name: string) {
  return {
    name,
    config: {
      basic: { drift_batch_size: '4', storage_uri: 'gs://bucket/seldon/drift_detector' },
      deployment: {
        model_name: 'abcde',
        event_type: 'io.seldon.serving.inference.drift',
        event_source: `io.seldon.serving.seldon-seldondeployment-${name}-drift`,
        reply_url: 'http://seldon-request-logger.seldon-logs',
        protocol: 'seldon.http',
        http_port: '8080',
        user_permission: 8888,
      },
    },
  };
}

/**
 * Waits for a status state; `after` (the resourceVersion a write answered) skips the status from before that write,
 * which is all a client can go by: Seldon Core writes no observedGeneration.
 */
async function waitForState(client: CheckedSeldonClient, name: string, state: string, after?: string): Promise<SeldonDeployment> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await client.call<SeldonDeployment>('GET', `${API}/${name}`);
    const status = res.body.status;
    if (status?.state === state && (after === undefined || res.body.metadata.resourceVersion !== after)) return res.body;
    if (Date.now() > deadline) throw new Error(`${name} never reached ${state}: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Seldon Deploy emulator API', () => {
  let stateDir: string;
  let emulator: RunningSeldonEmulator | undefined;
  const logs = new PassThrough();
  let logText = '';
  logs.on('data', (d: Buffer) => (logText += d.toString()));

  const start = async (extra: Partial<SeldonEmulatorOptions> = {}) => {
    emulator = await startSeldonEmulator({ stateDir, availableDelayMs: 50, log: logs, ...extra });
    const client = new CheckedSeldonClient(emulator.url);
    await client.login();
    return { emulator, client };
  };

  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'seldon-api-'));
  });
  afterEach(async () => {
    // Everything the emulator answered in the test, errors included, must validate against the real specs.
    expect(emulator?.contractViolations ?? []).toEqual([]);
    await emulator?.close();
    emulator = undefined;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('OIDC discovery, client-credentials (basic and post), password grant, and refused credentials', async () => {
    const { emulator: emu } = await start();
    const discovery = (await (await fetch(`${emu.oidcServer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(discovery.issuer).toBe(emu.oidcServer);
    expect(discovery.token_endpoint).toBe(`${emu.oidcServer}/protocol/openid-connect/token`);

    const token = (form: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form),
      });
    const post = await token({ grant_type: 'client_credentials', client_id: 'sd-api', client_secret: 'sd-api-secret' });
    expect(post.status).toBe(200);
    const tokens = (await post.json()) as Record<string, unknown>;
    expect(tokens).toEqual(expect.objectContaining({ token_type: 'Bearer', expires_in: 300 }));
    expect(String(tokens.id_token).split('.')).toHaveLength(3);
    expect(String(tokens.access_token).split('.')).toHaveLength(3);

    const password = await token(
      { grant_type: 'password', username: 'admin@seldon.io', password: '12341234' },
      { authorization: `Basic ${Buffer.from('sd-api:sd-api-secret').toString('base64')}` },
    );
    expect(password.status).toBe(200);

    const wrongSecret = await token({ grant_type: 'client_credentials', client_id: 'sd-api', client_secret: 'nope' });
    expect(wrongSecret.status).toBe(401);
    expect(((await wrongSecret.json()) as { error: string }).error).toBe('unauthorized_client');
    const wrongPassword = await token({ grant_type: 'password', client_id: 'sd-api', client_secret: 'sd-api-secret', username: 'admin@seldon.io', password: 'x' });
    expect(wrongPassword.status).toBe(401);
    expect(((await wrongPassword.json()) as { error: string }).error).toBe('invalid_grant');
    const badGrant = await token({ grant_type: 'implicit', client_id: 'sd-api', client_secret: 'sd-api-secret' });
    expect(badGrant.status).toBe(400);
    expect(((await badGrant.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });

  test('the API needs a valid, unexpired bearer token (401 in Deploy error shape otherwise)', async () => {
    const { emulator: emu, client } = await start({ oidc: { tokenTtlSeconds: 0.5 } });
    expect((await client.call('GET', API)).status).toBe(200);

    const anonymous = new CheckedSeldonClient(emu.url);
    const missing = await anonymous.call<{ code: number; message: string; requestId: string }>('GET', API);
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ code: 401, message: expect.stringMatching(/bearer token is required/), requestId: expect.any(String) });

    anonymous.token = 'not-a-jwt';
    expect((await anonymous.call('GET', API)).status).toBe(401);

    await new Promise((r) => setTimeout(r, 700));
    const expired = await client.call<{ message: string }>('GET', API);
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/expired/);
    await client.login();
    expect((await client.call('GET', API)).status).toBe(200);
  });

  test('create (no status yet) → Creating → Available with Kubernetes metadata and Seldon Core status', async () => {
    const { emulator: emu, client } = await start();
    const created = await client.call<SeldonDeployment>('POST', API, sdep('iris'));
    expect(created.status).toBe(200);
    const meta = created.body.metadata;
    expect(meta).toEqual(
      expect.objectContaining({ name: 'iris', namespace: NS, generation: 1, uid: expect.stringMatching(/^[0-9a-f-]{36}$/) }),
    );
    expect(meta.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The status is a subresource only the controller writes: a create answers none.
    expect(created.body).not.toHaveProperty('status');

    const available = await waitForState(client, 'iris', 'Available');
    const status = available.status!;
    expect(Number(available.metadata.resourceVersion)).toBeGreaterThan(Number(meta.resourceVersion));
    // Seldon Core v1 never writes observedGeneration.
    expect(status).not.toHaveProperty('observedGeneration');
    expect(status.address?.url).toBe(`${emu.url}/seldon/${NS}/iris/api/v1.0/predictions`);
    expect(status.deploymentStatus?.['iris-default-0-iris-container']).toEqual(
      expect.objectContaining({ status: 'Available', replicas: 1, availableReplicas: 1 }),
    );
    expect(status.serviceStatus?.['iris-default']).toEqual(
      expect.objectContaining({ svcName: 'iris-default', httpEndpoint: `iris-default.${NS}:8000` }),
    );
    const types = status.conditions?.map((c) => `${c.type}=${c.status}`);
    expect(types).toEqual(expect.arrayContaining(['DeploymentsReady=True', 'ServicesReady=True', 'Ready=True']));

    const list = await client.call<{ items: SeldonDeployment[] }>('GET', API);
    expect(list.body.items.map((i) => i.metadata.name)).toEqual(['iris']);
    expect((await client.call<{ items: unknown[] }>('GET', '/namespaces/other/seldondeployments')).body.items).toEqual([]);
  });

  test('invalid bodies get 400 naming the field; conflicts and missing objects get 409 and 404', async () => {
    const { client } = await start();
    const bad = async (body: unknown, pattern: RegExp, method = 'POST', p = API) => {
      const res = await client.call<{ code: number; message: string }>(method, p, body, { checkRequest: false });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(pattern);
    };
    const noGraph = sdep('a');
    delete (noGraph.spec.predictors[0] as Partial<(typeof noGraph.spec.predictors)[0]>).graph;
    await bad(noGraph, /spec\.predictors\[0\]\.graph: Required value/);
    await bad(sdep('a', 'img', { replicas: 'two' }), /spec\.predictors\[0\]\.replicas: Invalid value: "two".*must be of type integer/);
    await bad({ ...sdep('a'), metadata: { namespace: NS } }, /metadata\.name: Required value/);
    await bad(sdep('Bad_Name'), /metadata\.name: Invalid value: "Bad_Name"/);
    await bad({ ...sdep('a'), apiVersion: 'v1' }, /apiVersion: Unsupported value/);
    await bad({ ...sdep('a'), metadata: { name: 'a', namespace: 'elsewhere' } }, /namespace of the provided object does not match/);
    await bad(sdep('a', 'img', { graph: { name: 'no-such-container', type: 'MODEL' } }), /can't find container for predictive unit/);
    const raw = await fetch(`${client.baseUrl}/seldon-deploy/api/v1alpha1${API}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.token}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(raw.status).toBe(400);

    expect((await client.call('POST', API, sdep('dup'))).status).toBe(200);
    const again = await client.call<{ message: string }>('POST', API, sdep('dup'));
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('seldondeployments.machinelearning.seldon.io "dup" already exists');

    const missing = await client.call<{ message: string }>('GET', `${API}/ghost`);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('seldondeployments.machinelearning.seldon.io "ghost" not found');
    expect((await client.call('PUT', `${API}/ghost`, sdep('ghost'))).status).toBe(404);
    expect((await client.call('DELETE', `${API}/ghost`)).status).toBe(404);
    await bad(sdep('other'), /does not match the name on the URL/, 'PUT', `${API}/dup`);

    // Unknown fields are pruned, as the API server does for CRDs.
    const extra = sdep('pruned') as unknown as { spec: Record<string, unknown> };
    extra.spec.notAField = 1;
    const pruned = await client.call<SeldonDeployment>('POST', API, extra, { checkRequest: false });
    expect(pruned.status).toBe(200);
    expect(pruned.body.spec).not.toHaveProperty('notAField');
  });

  test('update: needs the resourceVersion (422 without, 409 stale); answers the previous status until the controller catches up', async () => {
    const { client } = await start();
    await client.call('POST', API, sdep('model'));
    const v1 = await waitForState(client, 'model', 'Available');

    const changed = sdep('model', 'example/serve:2.0');
    const at = (resourceVersion: string | undefined) => ({ ...changed, metadata: { ...changed.metadata, resourceVersion } });
    const unversioned = await client.call<{ code: number; message: string }>('PUT', `${API}/model`, changed);
    expect({ status: unversioned.status, body: unversioned.body }).toEqual({
      status: 422,
      body: {
        code: 422,
        message: 'seldondeployments.machinelearning.seldon.io "model" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
        requestId: expect.any(String),
      },
    });
    expect((await client.call<SeldonDeployment>('GET', `${API}/model`)).body.metadata.generation).toBe(1);

    const updated = await client.call<SeldonDeployment>('PUT', `${API}/model`, at(v1.metadata.resourceVersion));
    expect(updated.status).toBe(200);
    expect(updated.body.metadata.generation).toBe(2);
    expect(updated.body.metadata.uid).toBe(v1.metadata.uid);
    expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
    // The status is a subresource: the update leaves it alone, so the answer carries generation 1's Available.
    expect(updated.body.status).toEqual(v1.status);
    // The controller then writes its own (Creating, then Available), each time a new resourceVersion.
    const v2 = await waitForState(client, 'model', 'Available', updated.body.metadata.resourceVersion);
    expect(v2.spec.predictors[0].componentSpecs?.[0].spec?.containers?.[0].image).toBe('example/serve:2.0');

    const stale = await client.call<{ message: string }>('PUT', `${API}/model`, at(v1.metadata.resourceVersion));
    expect(stale.status).toBe(409);
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on seldondeployments.machinelearning.seldon.io "model": the object has been modified; please apply your changes to the latest version and try again',
    );

    // Same spec: no new generation.
    const same = await client.call<SeldonDeployment>('PUT', `${API}/model`, at(v2.metadata.resourceVersion));
    expect(same.status).toBe(200);
    expect(same.body.metadata.generation).toBe(2);

    const deleted = await client.call<Record<string, unknown>>('DELETE', `${API}/model`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual(expect.objectContaining({ kind: 'Status', status: 'Success' }));
    expect((await client.call('GET', `${API}/model`)).status).toBe(404);
  });

  test('the status stays stale until the controller catches up (staleStatusMs): none after a create, the previous one after an update', async () => {
    const first = await start({ staleStatusMs: 0 });
    await first.client.call('POST', API, sdep('model'));
    await waitForState(first.client, 'model', 'Available');
    await first.emulator.close();

    // The same state, with a controller that takes an hour to notice a change.
    const { client } = await start({ staleStatusMs: 3_600_000 });
    const served = await waitForState(client, 'model', 'Available'); // back after the restart
    const at = { ...sdep('model', 'example/serve:2.0'), metadata: { name: 'model', namespace: NS, resourceVersion: served.metadata.resourceVersion } };
    const updated = await client.call<SeldonDeployment>('PUT', `${API}/model`, at);
    const read = (await client.call<SeldonDeployment>('GET', `${API}/model`)).body;
    expect({ generation: read.metadata.generation, resourceVersion: read.metadata.resourceVersion, status: read.status }).toEqual({
      generation: 2,
      resourceVersion: updated.body.metadata.resourceVersion,
      status: served.status,
    });

    await client.call('POST', API, sdep('fresh'));
    expect((await client.call<SeldonDeployment>('GET', `${API}/fresh`)).body).not.toHaveProperty('status');
  });

  test('ValidateSeldonDeployment: GET …/seldondeployments/validate admits the body as a create would, stores nothing', async () => {
    const { client } = await start();
    const validate = (body: string | undefined, token: string | undefined = client.token) =>
      new Promise<{ status: number; body: { code: number; message: string } }>((resolve, reject) => {
        const req = http.request(
          `${client.baseUrl}/seldon-deploy/api/v1alpha1${API}/validate`,
          {
            method: 'GET',
            headers: {
              'content-type': 'application/json',
              // Node sends a GET body only with its length given.
              ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
              ...(token ? { authorization: `Bearer ${token}` } : {}),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => {
              try {
                resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { code: number; message: string } });
              } catch (err) {
                reject(new Error(`HTTP ${res.statusCode}: ${text} (${String(err)})`));
              }
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await validate(JSON.stringify(sdep('checked')))).toEqual({ status: 200, body: { code: 200, message: 'SeldonDeployment "checked" is valid' } });
    const noGraph = sdep('checked') as unknown as { spec: { predictors: Record<string, unknown>[] } };
    delete noGraph.spec.predictors[0].graph;
    const invalid = await validate(JSON.stringify(noGraph));
    expect({ status: invalid.status, message: invalid.body.message }).toEqual({
      status: 400,
      message: expect.stringMatching(/"checked" is invalid: .*spec\.predictors\[0\]\.graph: Required value/),
    });
    // What the generated SDKs send: a GET without its body.
    const empty = await validate(undefined);
    expect({ status: empty.status, message: empty.body.message }).toEqual({ status: 400, message: expect.stringMatching(/SeldonDeployment is required in the request body/) });
    expect((await validate(JSON.stringify(sdep('checked')), 'not-a-token')).status).toBe(401);
    // Nothing was stored, and no deployment is called "validate".
    expect((await client.call<{ items: unknown[] }>('GET', API)).body.items).toEqual([]);
    expect((await client.call('GET', `${API}/checked`)).status).toBe(404);
  });

  test('standalone: --stale-status-ms and SELDON_EMULATOR_STALE_STATUS_MS set how long the status stays stale; a bad value is refused', async () => {
    const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
    const main = path.resolve(__dirname, '../seldon/main.ts');
    const bad = spawn(tsx, [main, '--state-dir', path.join(stateDir, 'bad'), '--stale-status-ms', '-5']);
    let badErr = '';
    bad.stderr.on('data', (d: Buffer) => (badErr += d.toString()));
    expect(await new Promise((r) => bad.on('exit', r))).toBe(2);
    expect(badErr).toMatch(/--stale-status-ms needs a number >= 0, got "-5"/);

    const child = spawn(tsx, [main, '--state-dir', path.join(stateDir, 'cli'), '--quiet'], { env: { ...process.env, SELDON_EMULATOR_STALE_STATUS_MS: '3600000' } });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', () => {
          const m = /^(http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
          if (m) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const cli = new CheckedSeldonClient(url);
      await cli.login();
      await cli.call('POST', API, sdep('env'));
      // An hour: the controller has not written a status yet.
      expect((await cli.call<SeldonDeployment>('GET', `${API}/env`)).body).not.toHaveProperty('status');
    } finally {
      child.kill('SIGTERM');
    }
  });

  test('outcome rules make rollouts fail (start option and control route)', async () => {
    const { emulator: emu, client } = await start({ outcomes: [{ name: 'doomed', state: 'Failed', message: 'ImagePullBackOff' }] });
    await client.call('POST', API, sdep('doomed'));
    const failed = await waitForState(client, 'doomed', 'Failed');
    expect(failed.status?.description).toBe('ImagePullBackOff');
    expect(failed.status?.conditions?.find((c) => c.type === 'DeploymentsReady')).toEqual(
      expect.objectContaining({ status: 'False', message: 'ImagePullBackOff' }),
    );

    const put = await fetch(`${emu.url}/__emulator/outcomes`, {
      method: 'PUT',
      body: JSON.stringify({ rules: [{ image: 'bad/*', state: 'Failed' }] }),
    });
    expect(put.status).toBe(200);
    await client.call('POST', API, sdep('by-image', 'bad/image:1'));
    expect((await waitForState(client, 'by-image', 'Failed')).status?.description).toMatch(/failed/);
    const invalid = await fetch(`${emu.url}/__emulator/outcomes`, { method: 'PUT', body: JSON.stringify({ rules: [{ state: 'Done' }] }) });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { message: string }).message).toMatch(/state must be/);
  });

  test('drift and outlier detectors: create, list, get, delete, conflicts, validation, 404s', async () => {
    const { client } = await start();
    await client.call('POST', API, sdep('dogcat'));
    for (const kind of ['drift', 'outlier']) {
      const base = `${API}/dogcat/monitor/${kind}-detector`;
      const created = await client.call<DetectorData>('POST', base, driftDetector('dogcat'));
      expect(created.status).toBe(200);
      expect(created.body).toEqual(
        expect.objectContaining({ name: 'dogcat', namespace: NS, deployment_name: 'dogcat', detector_type: kind }),
      );
      expect(created.body.config.basic).toEqual({ drift_batch_size: '4', storage_uri: 'gs://bucket/seldon/drift_detector' });
      expect((await client.call('POST', base, driftDetector('dogcat'))).status).toBe(409);
      expect((await client.call<DetectorData[]>('GET', base)).body.map((d) => d.name)).toEqual(['dogcat']);
      expect((await client.call<DetectorData>('GET', `${base}/dogcat`)).body.detector_type).toBe(kind);

      const wrongType = driftDetector('typed') as unknown as { config: { basic: Record<string, unknown> } };
      wrongType.config.basic.drift_batch_size = 4;
      const invalid = await client.call<{ message: string }>('POST', base, wrongType, { checkRequest: false });
      expect(invalid.status).toBe(400);
      expect(invalid.body.message).toMatch(/drift_batch_size: must be string/);

      const deleted = await client.call<{ code: number }>('DELETE', `${base}/dogcat`);
      expect(deleted.status).toBe(200);
      expect(deleted.body.code).toBe(200);
      expect((await client.call('GET', `${base}/dogcat`)).status).toBe(404);
      expect((await client.call('DELETE', `${base}/dogcat`)).status).toBe(404);
      expect((await client.call('POST', `${API}/ghost/monitor/${kind}-detector`, driftDetector('x'))).status).toBe(404);
      expect((await client.call('GET', `${API}/ghost/monitor/${kind}-detector`)).status).toBe(404);
    }
  });

  test('state survives a restart on the same directory (deployments, detectors, tokens, secrets, rules)', async () => {
    const first = await start({ outcomes: [{ name: 'broken', state: 'Failed' }] });
    await first.client.call('POST', API, sdep('kept'));
    await first.client.call('POST', `${API}/kept/monitor/drift-detector`, driftDetector('kept'));
    await first.client.call('POST', API, sdep('broken'));
    const before = await waitForState(first.client, 'kept', 'Available');
    await waitForState(first.client, 'broken', 'Failed');
    await fetch(`${first.emulator.url}/__emulator/secrets/${NS}/creds`, { method: 'PUT', body: JSON.stringify({ data: { A: 'b' } }) });
    const token = first.client.token;
    await first.emulator.close();

    const second = await startSeldonEmulator({ stateDir, availableDelayMs: 50, log: logs });
    emulator = second;
    const client = new CheckedSeldonClient(second.url);
    client.token = token; // issued before the restart: still valid (the signing key is in the state directory)
    const after = await waitForState(client, 'kept', 'Available');
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.generation).toBe(1);
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(before.metadata.resourceVersion));
    expect(after.status?.address?.url).toContain(second.url);
    expect((await client.call<DetectorData>('GET', `${API}/kept/monitor/drift-detector/kept`)).status).toBe(200);
    expect((await client.call<SeldonDeployment>('GET', `${API}/broken`)).body.status?.state).toBe('Failed');
    expect((await (await fetch(`${second.url}/__emulator/outcomes`)).json()) as unknown).toEqual({ rules: [{ name: 'broken', state: 'Failed' }] });
    expect(await (await fetch(`${second.url}/__emulator/secrets/${NS}/creds`)).json()).toEqual({ data: { A: 'b' } });
  });

  test('fault injection per route, and structured request logs', async () => {
    const { emulator: emu, client } = await start();
    const put = await fetch(`${emu.url}/__emulator/faults`, {
      method: 'PUT',
      body: JSON.stringify({ rules: [{ route: '^POST /seldon-deploy/api/v1alpha1/namespaces/[^/]+/seldondeployments$', errorRate: 1, status: 503, times: 1 }] }),
    });
    expect(put.status).toBe(200);
    const injected = await client.call<{ code: number; message: string }>('POST', API, sdep('flaky'));
    expect(injected.status).toBe(503);
    expect(injected.body.message).toMatch(/injected fault/);
    expect((await client.call('GET', API)).status).toBe(200); // other routes unaffected
    expect((await client.call('POST', API, sdep('flaky'))).status).toBe(200); // `times: 1` used up
    const line = logText
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.method === 'POST' && l.status === 503);
    expect(line).toEqual(expect.objectContaining({ emulator: 'seldon', path: `/seldon-deploy/api/v1alpha1${API}` }));
  });

  test('the contract helper rejects what the specs reject', () => {
    const contract = loadSeldonContract();
    expect(contract.validateDefinition('DetectorData', { name: 'x', status: 'Ready' }).valid).toBe(true);
    expect(contract.validateDefinition('DetectorData', { name: 1 }).errors).toEqual(['/name: must be string']);
    expect(contract.validateSeldonDeployment({ spec: {} }).errors).toEqual(["/spec: must have required property 'predictors'"]);
    expect(contract.validateResponse('GET', `${API}/x`, 200, { metadata: { name: 3 } }).valid).toBe(false);
    expect(contract.validateRequest('POST', `${API}/x/monitor/drift-detector`, { config: { basic: { drift_type_feature: 'yes' } } }).valid).toBe(false);
    expect(() => contract.validateResponse('GET', '/no/such/route', 200, {})).toThrow(/no Seldon Deploy operation/);
    const client = new CheckedSeldonClient('http://127.0.0.1:9');
    return expect(client.call('POST', API, { spec: 'nope' })).rejects.toBeInstanceOf(ContractViolation);
  });
});
