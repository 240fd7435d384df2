// The Determined master emulator over real HTTP: every request and response is checked against the
// real protos (contract.ts) and experiment configs against the real expconf schemas.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import http from 'node:http';
import tar from 'tar-stream';
import yaml from 'js-yaml';
import { startDeterminedEmulator, type RunningDeterminedEmulator, type DeterminedEmulatorOptions } from '../determined';
import { DeterminedContract } from '../determined/contract';
import { ExpconfValidator } from '../determined/expconf';

const contract = DeterminedContract.load();
const FAST = { queuedMs: 20, pullingMs: 20, startingMs: 20, runningMs: 60 };

interface Api {
  (method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
}

/** A client that fails the test on any request or response that breaks the proto contract. */
function client(url: string, token?: string): Api {
  return async (method, urlPath, body) => {
    const u = new URL(urlPath, url);
    const requestProblems = contract.checkRequest(method, u.pathname, u.searchParams, body);
    expect({ request: `${method} ${urlPath}`, problems: requestProblems }).toEqual({ request: `${method} ${urlPath}`, problems: [] });
    const res = await fetch(u, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    const problems = contract.checkResponse(method, u.pathname, json);
    expect({ response: `${method} ${urlPath}`, problems }).toEqual({ response: `${method} ${urlPath}`, problems: [] });
    return { status: res.status, body: json, headers: res.headers };
  };
}

async function login(url: string, username = 'determined', password = 'secret'): Promise<Api> {
  const res = await client(url)('POST', '/api/v1/auth/login', { username, password });
  expect(res.status).toBe(200);
  return client(url, res.body.token as string);
}

function configYaml(overrides: Record<string, unknown> = {}): string {
  return yaml.dump({
    name: 'dogcat_single',
    entrypoint: 'python3 train.py',
    hyperparameters: { learning_rate: 0.005, global_batch_size: 32 },
    searcher: { name: 'single', metric: 'accuracy', smaller_is_better: false, max_length: { batches: 100 } },
    max_restarts: 0,
    ...overrides,
  });
}

const MODEL_DEF = [{ path: 'train.py', type: 48, content: Buffer.from('print("hi")\n').toString('base64'), mtime: 0, mode: 420, uid: 0, gid: 0 }];

async function waitForState(api: Api, id: number, states: string[], timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api('GET', `/api/v1/experiments/${id}`);
    const exp = res.body.experiment as Record<string, unknown>;
    if (states.includes(exp.state as string)) return exp;
    if (Date.now() > deadline) throw new Error(`experiment ${id} stuck in ${String(exp.state)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Determined emulator', () => {
  let stateDir: string;
  let emu: RunningDeterminedEmulator;
  const start = async (extra: DeterminedEmulatorOptions = {}) => {
    emu = await startDeterminedEmulator({ stateDir, password: 'secret', delays: FAST, ...extra });
    return emu;
  };

  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-det-test-'));
  });
  afterEach(async () => {
    await emu?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('login: plain and salted-hash passwords, bearer and cookie auth, 401/403 in the master error shape', async () => {
    await start({
      users: [
        { username: 'determined', password: 'secret' },
        { username: 'admin', password: 'secret', admin: true },
        { username: 'sso-only', password: 'secret', remote: true },
        { username: 'retired', password: 'secret', active: false },
      ],
    });
    const anon = client(emu.url);
    const hashed = crypto.createHash('sha512').update('GubPEmmotfiK9TMD6Zdw' + 'secret').digest('hex');
    const viaHash = await anon('POST', '/api/v1/auth/login', { username: 'admin', password: hashed, isHashed: true });
    expect(viaHash.status).toBe(200);
    expect((viaHash.body.user as { username: string; admin: boolean }).admin).toBe(true);
    expect(viaHash.headers.get('set-cookie')).toMatch(/^auth=v2\.public\./);

    // A wrong password, an unknown user and a remote-only user look the same (api_auth.go: ErrInvalidCredentials).
    for (const [username, password] of [['determined', 'nope'], ['nobody', 'secret'], ['sso-only', 'secret']]) {
      const refused = await anon('POST', '/api/v1/auth/login', { username, password });
      expect({ username, status: refused.status, body: refused.body }).toEqual({
        username,
        status: 401,
        body: { error: { code: 16, reason: 'Unauthenticated', error: 'invalid credentials' } },
      });
    }
    const inactive = await anon('POST', '/api/v1/auth/login', { username: 'retired', password: 'secret' });
    expect({ status: inactive.status, body: inactive.body }).toEqual({
      status: 403,
      body: { error: { code: 7, reason: 'PermissionDenied', error: 'user is not active' } },
    });
    const noName = await anon('POST', '/api/v1/auth/login', { username: '', password: 'secret' });
    expect({ status: noName.status, error: (noName.body.error as { error: string }).error }).toEqual({ status: 400, error: 'missing argument: username' });

    const unauth = await anon('GET', '/api/v1/me');
    expect({ status: unauth.status, body: unauth.body }).toEqual({ status: 401, body: { error: { code: 16, reason: 'Unauthenticated', error: 'token missing' } } });
    const unknownToken = await client(emu.url, 'v2.public.not-a-session')('GET', '/api/v1/me');
    expect({ status: unknownToken.status, error: (unknownToken.body.error as { error: string }).error }).toEqual({ status: 401, error: 'invalid credentials' });

    const cookieRes = await fetch(`${emu.url}/api/v1/me`, { headers: { cookie: `auth=${String(viaHash.body.token)}` } });
    expect(cookieRes.status).toBe(200);
    expect(((await cookieRes.json()) as { user: { username: string } }).user.username).toBe('admin');

    const api = client(emu.url, viaHash.body.token as string);
    expect((await api('GET', '/api/v1/master')).body.version).toBe('0.38.1');
    expect((await api('POST', '/api/v1/auth/logout')).status).toBe(200);
    expect((await api('GET', '/api/v1/me')).status).toBe(401);
  });

  test('an invalid config is a 400 InvalidArgument with the schema messages; unknown source checkpoint is refused', async () => {
    await start();
    const api = await login(emu.url);
    const bad = await api('POST', '/api/v1/experiments', { config: configYaml({ searcher: { name: 'single', metric: 3 } }), activate: true });
    expect(bad.status).toBe(400);
    const err = bad.body.error as { code: number; reason: string; error: string };
    expect(err.code).toBe(3);
    expect(err.error).toContain('<config>.searcher.metric');

    const unknownKey = await api('POST', '/api/v1/experiments', { config: configYaml({ bogus: 1 }) });
    expect((unknownKey.body.error as { error: string }).error).toContain('additionalProperties "bogus" not allowed');

    const notYaml = await api('POST', '/api/v1/experiments', { config: 'name: [unclosed' });
    expect(notYaml.status).toBe(400);

    const missingSource = await api('POST', '/api/v1/experiments', {
      config: configYaml({ searcher: { name: 'single', metric: 'accuracy', max_length: { batches: 1 }, source_checkpoint_uuid: 'no-such' } }),
    });
    expect(missingSource.status).toBe(400);
    expect((missingSource.body.error as { error: string }).error).toContain('checkpoint not found: no-such');

    const noParent = await api('POST', '/api/v1/experiments', { config: configYaml(), parentId: 999 });
    expect(noParent.status).toBe(404);
  });

  test('a run goes QUEUED → … → COMPLETED; checkpoints best-first; continuation improves and derives from the source', async () => {
    await start();
    const api = await login(emu.url);
    const created = await api('POST', '/api/v1/experiments', { config: configYaml({ labels: ['repo-a'] }), modelDefinition: MODEL_DEF, activate: true, projectId: 1 });
    expect(created.status).toBe(200);
    const id = (created.body.experiment as { id: number }).id;
    expect((created.body.experiment as { state: string }).state).toBe('STATE_QUEUED');

    const seen = new Set<string>();
    for (;;) {
      const exp = (await api('GET', `/api/v1/experiments/${id}`)).body.experiment as { state: string };
      seen.add(exp.state);
      if (exp.state === 'STATE_COMPLETED') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(seen.has('STATE_RUNNING')).toBe(true);
    const got = await api('GET', `/api/v1/experiments/${id}`);
    const exp = got.body.experiment as Record<string, unknown>;
    expect(exp.checkpointCount).toBe(1);
    expect(typeof exp.checkpointSize).toBe('string');
    expect(got.body.jobSummary).toBeNull();
    expect((got.body.config as { searcher: { metric: string } }).searcher.metric).toBe('accuracy');

    const list = await api('GET', `/api/v1/experiments/${id}/checkpoints?sortByAttr=SORT_BY_SEARCHER_METRIC&states=STATE_COMPLETED`);
    const [first] = list.body.checkpoints as { uuid: string; training: { searcherMetric: number }; resources: Record<string, string> }[];
    expect(Object.keys(first.resources)).toEqual(['metadata.json', 'state_dict.pth']);

    // Continue: parent id + source checkpoint, no model definition (the parent's is reused).
    const cont = await api('POST', '/api/v1/experiments', {
      config: configYaml({ searcher: { name: 'single', metric: 'accuracy', smaller_is_better: false, max_length: { batches: 100 }, source_checkpoint_uuid: first.uuid } }),
      parentId: id,
      activate: true,
    });
    const childId = (cont.body.experiment as { id: number }).id;
    expect((cont.body.experiment as { forkedFrom: number }).forkedFrom).toBe(id);
    await waitForState(api, childId, ['STATE_COMPLETED']);
    const childCkpts = await api('GET', `/api/v1/experiments/${childId}/checkpoints?sortByAttr=SORT_BY_SEARCHER_METRIC`);
    const child = (childCkpts.body.checkpoints as { uuid: string; training: { searcherMetric: number } }[])[0];
    expect(child.training.searcherMetric).toBeGreaterThan(first.training.searcherMetric);

    // The child's weights file derives from the parent's.
    const one = (await api('GET', `/api/v1/checkpoints/${child.uuid}`)).body.checkpoint as { uuid: string };
    expect(one.uuid).toBe(child.uuid);
    const files = await downloadTar(emu.url, child.uuid, (await loginToken(emu.url)));
    const weights = JSON.parse(files.get('state_dict.pth') as string) as { generation: number; sourceCheckpointUuid: string };
    expect(weights).toMatchObject({ generation: 1, sourceCheckpointUuid: first.uuid });
    const trials = await api('GET', `/api/v1/experiments/${childId}/trials`);
    expect((trials.body.trials as { warmStartCheckpointUuid: string }[])[0].warmStartCheckpointUuid).toBe(first.uuid);
  });

  test('checkpoint list order honours smaller_is_better, orderBy, sortByMetric, limit/offset', async () => {
    await start();
    const api = await login(emu.url);
    const loss = (v: number) => ({ method: 'POST', body: { sizeBytes: 10, metric: v } });
    const ids: number[] = [];
    for (const v of [0.5, 0.2, 0.9]) {
      const res = await fetch(`${emu.url}/__emulator/checkpoints`, { method: loss(v).method, body: JSON.stringify(loss(v).body) });
      ids.push(((await res.json()) as { experimentId: number }).experimentId);
    }
    // Each sized checkpoint is its own experiment: check one experiment's list shape and paging.
    const res = await api('GET', `/api/v1/experiments/${ids[1]}/checkpoints?sortByAttr=SORT_BY_SEARCHER_METRIC&limit=1&offset=0`);
    expect(res.body.pagination).toMatchObject({ total: 1, limit: 1, startIndex: 0, endIndex: 1 });
    expect((res.body.checkpoints as { training: { searcherMetric: number } }[])[0].training.searcherMetric).toBe(0.2);
    const bad = await api('GET', `/api/v1/experiments/${ids[1]}/checkpoints?orderBy=SIDEWAYS`);
    expect(bad.status).toBe(400);
  });

  test('experiments list filters by labels, pages and sorts; labels can be put, deleted and patched', async () => {
    await start({ delays: { queuedMs: 60_000 } });
    const api = await login(emu.url);
    for (const labels of [['a'], ['a', 'b'], ['c']]) {
      await api('POST', '/api/v1/experiments', { config: configYaml({ labels }), modelDefinition: MODEL_DEF, activate: false });
    }
    const withA = await api('GET', '/api/v1/experiments?labels=a&orderBy=ORDER_BY_DESC&sortBy=SORT_BY_ID');
    expect((withA.body.experiments as { id: number }[]).map((e) => e.id)).toEqual([2, 1]);
    const page = await api('GET', '/api/v1/experiments?limit=1&offset=1');
    expect((page.body.experiments as { id: number }[]).map((e) => e.id)).toEqual([2]);
    expect(page.body.pagination).toMatchObject({ total: 3 });

    expect((await api('PUT', '/api/v1/experiments/3/labels/wf-1')).body).toEqual({ labels: ['c', 'wf-1'] });
    expect((await api('DELETE', '/api/v1/experiments/3/labels/c')).body).toEqual({ labels: ['wf-1'] });
    const patched = await api('PATCH', '/api/v1/experiments/3', { id: 3, labels: ['x', 'y'], notes: 'n' });
    expect((patched.body.experiment as { labels: string[] }).labels).toEqual(['x', 'y']);
    expect((await api('GET', '/api/v1/experiments?labels=y')).body.experiments).toHaveLength(1);

    // A paused (not activated) experiment can be activated, then canceled.
    expect(((await api('GET', '/api/v1/experiments/1')).body.experiment as { state: string }).state).toBe('STATE_PAUSED');
    await api('POST', '/api/v1/experiments/1/activate');
    expect(((await api('GET', '/api/v1/experiments/1')).body.experiment as { state: string }).state).toBe('STATE_QUEUED');
    await api('POST', '/api/v1/experiments/1/kill');
    expect(((await api('GET', '/api/v1/experiments/1')).body.experiment as { state: string }).state).toBe('STATE_CANCELED');
    expect((await api('GET', '/api/v1/experiments/77')).status).toBe(404);
  });

  test('outcome rules: ERROR, HANG (released at run time), NO_CHECKPOINT', async () => {
    await start({ outcomes: [{ name: '^fails', outcome: 'ERROR' }, { label: '^empty$', outcome: 'NO_CHECKPOINT' }] });
    const api = await login(emu.url);
    const mk = async (name: string, labels: string[] = []) =>
      ((await api('POST', '/api/v1/experiments', { config: configYaml({ name, labels }), modelDefinition: MODEL_DEF, activate: true })).body.experiment as { id: number }).id;
    const failing = await mk('fails-1');
    const empty = await mk('ok', ['empty']);
    expect((await waitForState(api, failing, ['STATE_ERROR', 'STATE_COMPLETED'])).state).toBe('STATE_ERROR');
    const emptyExp = await waitForState(api, empty, ['STATE_COMPLETED', 'STATE_ERROR']);
    expect(emptyExp).toMatchObject({ state: 'STATE_COMPLETED', checkpointCount: 0 });

    const put = await fetch(`${emu.url}/__emulator/outcomes`, { method: 'PUT', body: JSON.stringify({ rules: [{ name: 'hangs', outcome: 'HANG' }] }) });
    expect(put.status).toBe(200);
    const hung = await mk('hangs');
    await waitForState(api, hung, ['STATE_RUNNING']);
    await new Promise((r) => setTimeout(r, 200));
    expect(((await api('GET', `/api/v1/experiments/${hung}`)).body.experiment as { state: string }).state).toBe('STATE_RUNNING');
    await fetch(`${emu.url}/__emulator/outcomes`, { method: 'PUT', body: JSON.stringify({ rules: [] }) });
    expect((await waitForState(api, hung, ['STATE_COMPLETED'])).checkpointCount).toBe(1);

    // A large checkpoint on request, and only for the matching experiment.
    await fetch(`${emu.url}/__emulator/outcomes`, { method: 'PUT', body: JSON.stringify({ rules: [{ name: '^big', outcome: 'COMPLETED', checkpointBytes: 5_000_000 }] }) });
    const resourcesOf = async (id: number) => {
      await waitForState(api, id, ['STATE_COMPLETED']);
      const res = await api('GET', `/api/v1/experiments/${id}/checkpoints`);
      return (res.body.checkpoints as { resources: Record<string, string> }[])[0].resources;
    };
    expect(await resourcesOf(await mk('big-1'))).toMatchObject({ 'padding.bin': '5000000' });
    expect(await resourcesOf(await mk('small'))).not.toHaveProperty('padding.bin');

    for (const rules of [[{ outcome: 'MAYBE' }], [{ outcome: 'ERROR', checkpointBytes: 10 }], [{ outcome: 'COMPLETED', checkpointBytes: -1 }]]) {
      const badRule = await fetch(`${emu.url}/__emulator/outcomes`, { method: 'PUT', body: JSON.stringify({ rules }) });
      expect(badRule.status).toBe(400);
    }
  });

  test('model registry: substring name filter, versions with checkpoints, sorting, patch', async () => {
    await start();
    const api = await login(emu.url);
    const sized = (await (await fetch(`${emu.url}/__emulator/checkpoints`, { method: 'POST', body: JSON.stringify({ files: { 'a.bin': 3, 'dir/b.bin': 5 } }) })).json()) as { checkpointUuid: string };
    expect((await api('POST', '/api/v1/models', { name: 'dogs-and-cats', labels: ['p', 'r'], metadata: { pipeline: 'p' }, description: '' })).status).toBe(200);
    await api('POST', '/api/v1/models', { name: 'dogs' });
    const duplicate = await api('POST', '/api/v1/models', { name: 'dogs' });
    expect({ status: duplicate.status, body: duplicate.body }).toEqual({
      status: 409,
      body: { error: { code: 6, reason: 'AlreadyExists', error: 'avoid names equal to other models (case-sensitive)' } },
    });
    const found = await api('GET', '/api/v1/models?sortBy=1&orderBy=1&name=dogs');
    expect((found.body.models as { name: string }[]).map((m) => m.name)).toEqual(['dogs', 'dogs-and-cats']);
    expect((await api('POST', '/api/v1/models', { name: 'Dogs' })).status).toBe(200); // unique, case-sensitively

    const v1 = await api('POST', '/api/v1/models/dogs-and-cats/versions', { modelName: 'dogs-and-cats', checkpointUuid: sized.checkpointUuid });
    expect((v1.body.modelVersion as { version: number }).version).toBe(1);
    expect((v1.body.modelVersion as { checkpoint: { resources: Record<string, string> } }).checkpoint.resources).toEqual({ 'a.bin': '3', 'dir/b.bin': '5' });
    await api('POST', '/api/v1/models/dogs-and-cats/versions', { modelName: 'dogs-and-cats', checkpointUuid: sized.checkpointUuid, name: 'c2' });
    expect((await api('POST', '/api/v1/models/dogs-and-cats/versions', { modelName: 'dogs-and-cats', checkpointUuid: 'nope' })).status).toBe(404);

    const latest = await api('GET', '/api/v1/models/dogs-and-cats/versions?sortBy=SORT_BY_VERSION&orderBy=ORDER_BY_DESC&limit=1');
    expect((latest.body.modelVersions as { version: number; name: string }[]).map((v) => [v.version, v.name])).toEqual([[2, 'c2']]);
    expect((latest.body.model as { numVersions: number }).numVersions).toBe(2);

    const patched = await api('PATCH', '/api/v1/models/dogs-and-cats/versions/1', { name: 'commit-1', notes: 'Job_id/commit_id = commit-1', metadata: { trainedOn: 'c1' }, labels: ['l'] });
    expect(patched.body.modelVersion).toMatchObject({ name: 'commit-1', notes: 'Job_id/commit_id = commit-1', metadata: { trainedOn: 'c1' }, labels: ['l'] });
    expect((await api('GET', '/api/v1/models/dogs-and-cats/versions/1')).body.modelVersion).toMatchObject({ name: 'commit-1' });
    const missing = await api('GET', '/api/v1/models/dogs-and-cats/versions/9');
    expect({ status: missing.status, error: (missing.body.error as { error: string }).error }).toEqual({
      status: 404,
      error: 'version 9 for model "dogs-and-cats" not found',
    });
    const pm = await api('PATCH', '/api/v1/models/dogs', { description: 'd', labels: ['z'] });
    expect(pm.body.model).toMatchObject({ description: 'd', labels: ['z'] });
    expect((await api('GET', '/api/v1/models/none')).status).toBe(404);
  });

  test('checkpoint download: tar, gzip and zip per Accept, 415 otherwise; a large file streams intact', async () => {
    await start();
    const token = await loginToken(emu.url);
    const size = 8 * 1024 * 1024 + 7;
    const res = await fetch(`${emu.url}/__emulator/checkpoints`, { method: 'POST', body: JSON.stringify({ files: { 'model.bin': size, 'meta/info.txt': 10 } }) });
    const { checkpointUuid } = (await res.json()) as { checkpointUuid: string };
    const onDisk = path.join(stateDir, 'fs', 'determined_shared_fs', checkpointUuid, 'model.bin');
    const want = crypto.createHash('sha256').update(fs.readFileSync(onDisk)).digest('hex');

    for (const accept of ['application/x-tar', 'application/gzip']) {
      const entries = await streamTarEntries(emu.url, checkpointUuid, token, accept);
      expect(entries.get('model.bin')).toEqual({ size, sha256: want });
      expect(entries.get('meta/info.txt')?.size).toBe(10);
    }
    const zip = await fetch(`${emu.url}/checkpoints/${checkpointUuid}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/zip' } });
    expect(zip.headers.get('content-type')).toBe('application/zip');
    const zipBytes = Buffer.from(await zip.arrayBuffer());
    expect(zipBytes.subarray(0, 4).toString('hex')).toBe('504b0304');
    expect(zipBytes.includes(Buffer.from('meta/info.txt'))).toBe(true);

    const bad = await fetch(`${emu.url}/checkpoints/${checkpointUuid}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/plain' } });
    expect(bad.status).toBe(415);
    expect(((await bad.json()) as { message: string }).message).toContain('unsupported media type');
    expect((await fetch(`${emu.url}/checkpoints/${checkpointUuid}`)).status).toBe(401);
  });

  test('a client dropping a checkpoint download mid-stream leaves the emulator serving', async () => {
    await start();
    const token = await loginToken(emu.url);
    const res = await fetch(`${emu.url}/__emulator/checkpoints`, { method: 'POST', body: JSON.stringify({ files: { 'big.bin': 32 * 1024 * 1024 } }) });
    const { checkpointUuid } = (await res.json()) as { checkpointUuid: string };
    for (const accept of ['application/x-tar', 'application/gzip']) {
      const abort = new AbortController();
      const download = await fetch(`${emu.url}/checkpoints/${checkpointUuid}`, { headers: { authorization: `Bearer ${token}`, accept }, signal: abort.signal });
      const reader = download.body!.getReader();
      await reader.read(); // the stream has started
      abort.abort();
      await reader.read().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 200));
    const again = await fetch(`${emu.url}/api/v1/checkpoints/${checkpointUuid}`, { headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
  });

  test('state survives a restart; an experiment running at the kill finishes after it', async () => {
    await start({ delays: { ...FAST, runningMs: 400 } });
    let api = await login(emu.url);
    await api('POST', '/api/v1/models', { name: 'm' });
    const id = ((await api('POST', '/api/v1/experiments', { config: configYaml(), modelDefinition: MODEL_DEF, activate: true })).body.experiment as { id: number }).id;
    await waitForState(api, id, ['STATE_RUNNING']);
    await emu.close();

    await start({ delays: { ...FAST, runningMs: 400 } });
    api = await login(emu.url);
    expect((await api('GET', '/api/v1/models/m')).status).toBe(200);
    const done = await waitForState(api, id, ['STATE_COMPLETED', 'STATE_ERROR']);
    expect(done).toMatchObject({ state: 'STATE_COMPLETED', checkpointCount: 1 });
    // Ids continue after the restart.
    const next = (await api('POST', '/api/v1/experiments', { config: configYaml(), modelDefinition: MODEL_DEF })).body.experiment as { id: number };
    expect(next.id).toBe(id + 1);
  });

  test('fault injection applies to API and streaming routes', async () => {
    await start({ faults: { rules: [{ route: '^GET /api/v1/models$', errorRate: 1, status: 503, times: 1 }] } });
    const api = await login(emu.url);
    const first = await api('GET', '/api/v1/models');
    expect(first.status).toBe(503);
    expect(first.body).toEqual({ error: { code: 14, reason: 'Unavailable', error: 'injected fault: 503' } });
    expect((await api('GET', '/api/v1/models')).status).toBe(200);

    await fetch(`${emu.url}/__emulator/faults`, { method: 'PUT', body: JSON.stringify({ rules: [{ route: '^GET /checkpoints/', dropRate: 1 }] }) });
    const sized = (await (await fetch(`${emu.url}/__emulator/checkpoints`, { method: 'POST', body: JSON.stringify({ sizeBytes: 5 }) })).json()) as { checkpointUuid: string };
    await expect(fetch(`${emu.url}/checkpoints/${sized.checkpointUuid}`)).rejects.toThrow();
  });

  test('trial logs stream as NDJSON {result} lines', async () => {
    await start();
    const api = await login(emu.url);
    const id = ((await api('POST', '/api/v1/experiments', { config: configYaml(), modelDefinition: MODEL_DEF, activate: true })).body.experiment as { id: number; trialIds: number[] });
    const token = await loginToken(emu.url);
    const res = await fetch(`${emu.url}/api/v1/trials/${id.trialIds[0]}/logs?follow=true`, { headers: { authorization: `Bearer ${token}` } });
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { result: { log: string } });
    for (const line of lines) expect(contract.checkResponse('GET', `/api/v1/trials/${id.trialIds[0]}/logs`, line)).toEqual([]);
    expect(lines.map((l) => l.result.log).join('')).toContain('is COMPLETED');
  });

  test('trial logs: orderBy=ORDER_BY_DESC with a limit sends the newest lines first', async () => {
    await start();
    const api = await login(emu.url);
    const exp = (await api('POST', '/api/v1/experiments', { config: configYaml(), modelDefinition: MODEL_DEF, activate: true })).body.experiment as { id: number; trialIds: number[] };
    await waitForState(api, exp.id, ['STATE_COMPLETED']);
    const token = await loginToken(emu.url);
    const logs = async (query: string) => {
      const res = await fetch(`${emu.url}/api/v1/trials/${exp.trialIds[0]}/logs${query}`, { headers: { authorization: `Bearer ${token}` } });
      return (await res.text()).trim().split('\n').map((l) => (JSON.parse(l) as { result: { id: string; log: string } }).result);
    };
    const all = await logs('');
    expect(all.length).toBeGreaterThan(3);
    expect(await logs('?limit=2&orderBy=ORDER_BY_DESC')).toEqual([all[all.length - 1], all[all.length - 2]]);
    expect(await logs('?orderBy=ORDER_BY_DESC')).toEqual([...all].reverse());
    expect(await logs('?limit=2&orderBy=ORDER_BY_ASC')).toEqual(all.slice(0, 2));
  });

  test('GetTrialWorkloads: training, checkpoint and validation workloads, filtered, ordered and paged', async () => {
    await start();
    const api = await login(emu.url);
    const exp = (await api('POST', '/api/v1/experiments', { config: configYaml(), modelDefinition: MODEL_DEF, activate: true })).body.experiment as { id: number; trialIds: number[] };
    await waitForState(api, exp.id, ['STATE_COMPLETED']);
    const trialId = exp.trialIds[0];
    const kinds = (body: Record<string, unknown>) =>
      (body.workloads as Record<string, { totalBatches: number }>[]).map((w) => `${Object.keys(w)[0]}@${Object.values(w)[0].totalBatches}`);

    const all = await api('GET', `/api/v1/trials/${trialId}/workloads`);
    expect(all.status).toBe(200);
    // Ordered by batches (then by end time, which the three reports at 100 batches may share to the millisecond).
    const asc = kinds(all.body);
    const at100 = ['checkpoint@100', 'training@100', 'validation@100'];
    expect(asc[0]).toBe('training@50');
    expect(asc.slice(1).sort()).toEqual(at100);
    // The master turns limit 0 into -1 (no limit) before paging, and reports that.
    expect(all.body.pagination).toEqual({ offset: 0, limit: -1, startIndex: 0, endIndex: 4, total: 4 });
    const checkpoint = (all.body.workloads as { checkpoint?: { uuid: string; state: string } }[]).find((w) => w.checkpoint)?.checkpoint;
    const [listed] = (await api('GET', `/api/v1/trials/${trialId}/checkpoints`)).body.checkpoints as { uuid: string }[];
    expect(checkpoint).toMatchObject({ uuid: listed.uuid, state: 'STATE_COMPLETED' });

    const desc = kinds((await api('GET', `/api/v1/trials/${trialId}/workloads?orderBy=ORDER_BY_DESC`)).body);
    expect(desc.slice(0, 3).sort()).toEqual(at100);
    expect(desc[3]).toBe('training@50');
    expect(kinds((await api('GET', `/api/v1/trials/${trialId}/workloads?filter=FILTER_OPTION_VALIDATION`)).body)).toEqual(['validation@100']);
    // As the SQL has it: FILTER_OPTION_CHECKPOINT drops trainings but keeps validations.
    expect(kinds((await api('GET', `/api/v1/trials/${trialId}/workloads?filter=FILTER_OPTION_CHECKPOINT`)).body).sort()).toEqual(['checkpoint@100', 'validation@100']);
    const page = await api('GET', `/api/v1/trials/${trialId}/workloads?offset=1&limit=2`);
    expect(kinds(page.body)).toEqual(asc.slice(1, 3));
    expect(page.body.pagination).toEqual({ offset: 1, limit: 2, startIndex: 1, endIndex: 3, total: 4 });
    // Paged by the SQL page_info: an offset past the end is an empty page, not an error.
    const past = await api('GET', `/api/v1/trials/${trialId}/workloads?offset=9`);
    expect({ status: past.status, workloads: past.body.workloads }).toEqual({ status: 200, workloads: [] });
    expect((await api('GET', '/api/v1/trials/999/workloads')).status).toBe(404);
  });

  test('lists: models, versions and checkpoints refuse an offset past the end (400); experiments page leniently', async () => {
    await start();
    const api = await login(emu.url);
    const sized = (await (await fetch(`${emu.url}/__emulator/checkpoints`, { method: 'POST', body: JSON.stringify({ sizeBytes: 3 }) })).json()) as { experimentId: number; checkpointUuid: string };
    await api('POST', '/api/v1/models', { name: 'm' });
    await api('POST', '/api/v1/models/m/versions', { modelName: 'm', checkpointUuid: sized.checkpointUuid });
    const outOfBounds = { error: { code: 3, reason: 'InvalidArgument', error: 'offset out of bounds' } };
    for (const list of ['/api/v1/models', '/api/v1/models/m/versions', `/api/v1/experiments/${sized.experimentId}/checkpoints`]) {
      const past = await api('GET', `${list}?offset=2`);
      expect({ list, status: past.status, body: past.body }).toEqual({ list, status: 400, body: outOfBounds });
      expect({ list, status: (await api('GET', `${list}?offset=-2`)).status }).toEqual({ list, status: 400 });
      // The end itself is in bounds: an empty page.
      const end = await api('GET', `${list}?offset=1`);
      expect({ list, status: end.status, pagination: end.body.pagination }).toEqual({ list, status: 200, pagination: { offset: 1, limit: 0, startIndex: 1, endIndex: 1, total: 1 } });
    }
    const experiments = await api('GET', '/api/v1/experiments?offset=5');
    expect({ status: experiments.status, experiments: experiments.body.experiments, pagination: experiments.body.pagination }).toEqual({
      status: 200,
      experiments: [],
      pagination: { offset: 5, limit: 0, startIndex: 1, endIndex: 1, total: 1 },
    });
  });

  test('model names the master refuses: blank, excessive spacing, slashes, only digits; on create and on rename', async () => {
    await start();
    const api = await login(emu.url);
    const refused = {
      '  ': 'model names cannot be blank',
      'a  b': 'model names cannot have excessive spacing',
      'team/model': 'model names cannot have slashes',
      'team\\model': 'model names cannot have slashes',
      '20240101': 'model names cannot be only numbers',
    };
    for (const [name, error] of Object.entries(refused)) {
      const res = await api('POST', '/api/v1/models', { name });
      expect({ name, status: res.status, body: res.body }).toEqual({ name, status: 400, body: { error: { code: 3, reason: 'InvalidArgument', error } } });
    }
    expect((await api('GET', '/api/v1/models')).body.models).toEqual([]);
    await api('POST', '/api/v1/models', { name: 'ok name' });
    const rename = await api('PATCH', '/api/v1/models/ok%20name', { name: '42' });
    expect({ status: rename.status, error: (rename.body.error as { error: string }).error }).toEqual({ status: 400, error: 'model names cannot be only numbers' });
    // An all-digit identifier is a model id, as in ModelFromIdentifier.
    const byId = await api('GET', '/api/v1/models/1');
    expect((byId.body.model as { name: string }).name).toBe('ok name');
  });
});

describe('expconf validation', () => {
  const validator = new ExpconfValidator();
  test('the original const.yaml passes; typical mistakes fail with the schema’s own messages', () => {
    const constYaml = yaml.load(`
name: dogcat_single
entrypoint: model_def:DogCatModel
data: {pachyderm: {host: '', port: '', repo: '', branch: '', token: ''}}
labels:
hyperparameters: {learning_rate: .005, global_batch_size: 32, weight_decay: 1e-4, nesterov: True}
searcher: {name: single, metric: accuracy, max_length: {batches: 100}, smaller_is_better: false}
resources: {slots_per_trial: 1}
max_restarts: 0
`);
    expect(validator.sanityErrors(constYaml)).toEqual([]);
    const base = constYaml as Record<string, unknown>;
    expect(validator.sanityErrors({ ...base, hyperparameters: { lr: { type: 'double', minval: 3, maxval: 2 } } })).toEqual([
      '<config>.hyperparameters.lr: minval must be less than maxval',
    ]);
    expect(validator.sanityErrors({ ...base, searcher: { name: 'nope' } })[0]).toContain(`is one of 'single'`);
    expect(validator.sanityErrors({ ...base, checkpoint_storage: { type: 'shared_fs', host_path: '/a', storage_path: '/b' } })).toEqual([
      '<config>.checkpoint_storage: storage_path must either be a relative directory or a subdirectory of host_path',
    ]);
    const incomplete = validator.completenessErrors(validator.withDefaults({ entrypoint: 'x' }));
    expect(incomplete).toEqual(expect.arrayContaining(['<config>: searcher is a required property']));
  });
});

async function loginToken(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ username: 'determined', password: 'secret' }) });
  return ((await res.json()) as { token: string }).token;
}

/** Reads a tar (or tar.gz) download entry by entry, hashing contents, without buffering the archive. */
function streamTarEntries(url: string, uuid: string, token: string, accept: string): Promise<Map<string, { size: number; sha256: string }>> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/checkpoints/${uuid}`, { headers: { authorization: `Bearer ${token}`, accept } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      expect(res.headers['content-type']).toBe(accept);
      const out = new Map<string, { size: number; sha256: string }>();
      const extract = tar.extract();
      extract.on('entry', (header, stream, next) => {
        const hash = crypto.createHash('sha256');
        let size = 0;
        stream.on('data', (c: unknown) => {
          size += (c as Buffer).length;
          hash.update(c as Buffer);
        });
        stream.on('end', () => {
          out.set(header.name, { size, sha256: hash.digest('hex') });
          next();
        });
      });
      extract.on('finish', () => resolve(out));
      extract.on('error', reject);
      (accept === 'application/gzip' ? res.pipe(zlib.createGunzip()) : res).pipe(extract);
    });
    req.on('error', reject);
  });
}

async function downloadTar(url: string, uuid: string, token: string): Promise<Map<string, string>> {
  const res = await fetch(`${url}/checkpoints/${uuid}`, { headers: { authorization: `Bearer ${token}` } });
  const buf = Buffer.from(await res.arrayBuffer());
  const files = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        files.set(header.name, Buffer.concat(chunks).toString('utf8'));
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(buf);
  });
  return files;
}
