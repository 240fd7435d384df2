// fetchExperiment, lookupModel, submitExperiment, waitForExperiment and registerModelVersion against the
// Determined emulator, with experiment code in a local git repository.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import axios from 'axios';
import { CancelledFailure } from '@temporalio/common';
import yaml from 'js-yaml';
import { createActivities } from '../../activities';
import type { ExperimentCode, ExperimentProgress, RepoRef, SubmitExperimentInput } from '../../common/types';
import { ErrorType } from '../../common/errors';
import { failure } from '../../activities/http/errors';
import { ensureModel } from '../../activities/model-registry';
import type { DeterminedClient } from '../../activities/determined/client';
import type { Model } from '../../activities/determined/types';
import { PachdError, PachdRestClient, commitOf, putFiles } from '@continuous-training/emulators/pachyderm/client';
import { EXPIRY_MARGIN_SECONDS } from '../../activities/experiment-token';
import { commitFiles, EXPERIMENT_CONFIG, expectFailure, makeGitRepo, mockEnv, PACH_TOKEN, run, startHarness, waitFor, type Harness } from './helpers';

const inputRepo: RepoRef = { project: 'default', repo: 'dogs-and-cats', branch: 'master' };
const COMMIT_A = 'a'.repeat(32);
const COMMIT_B = 'b'.repeat(32);

let h: Harness;
let code: ExperimentCode;
let repoUrl: string;

beforeAll(async () => {
  // pachd (auth on, the worker's token is its root) for the experiment's own token: a robot reading the input repo.
  h = await startHarness({ determined: true, pachd: true });
  await putFiles({ url: h.pachd!.url, authToken: PACH_TOKEN }, inputRepo.repo, 'master', { '/cats/1.txt': 'meow' });
  await putFiles({ url: h.pachd!.url, authToken: PACH_TOKEN }, 'someone-elses', 'master', { '/secret.txt': 'not for experiments' });
  repoUrl = makeGitRepo(path.join(h.tmp, 'experiment-repo'), {
    'experiment/const.yaml': EXPERIMENT_CONFIG,
    'experiment/model_def.py': 'class DogCatModel: pass\n',
    'experiment/data/big.bin': 'x'.repeat(1000),
    'experiment/.detignore': 'data/\n',
    'README.md': 'not part of the experiment\n',
  }).url;
  code = await run(h.activities, 'fetchExperiment', { source: { gitUrl: repoUrl, ref: 'main', path: 'experiment', configFile: 'const.yaml' } });
});

afterAll(async () => {
  await h.close();
});

function submitInput(overrides: Partial<SubmitExperimentInput> = {}): SubmitExperimentInput {
  return {
    pipelineName: 'dogs-and-cats-model',
    inputRepo,
    commit: COMMIT_A,
    baseCommit: null,
    code,
    parent: null,
    workflowId: 'ct-train-test-1',
    runId: 'run-1',
    ...overrides,
  };
}

async function masterGet<T>(p: string): Promise<T> {
  const login = await axios.post<{ token: string }>(`${h.determined!.url}/api/v1/auth/login`, { username: 'determined', password: 'det-secret' });
  return (await axios.get<T>(`${h.determined!.url}${p}`, { headers: { authorization: `Bearer ${login.data.token}` } })).data;
}

async function masterPost(p: string): Promise<void> {
  const login = await axios.post<{ token: string }>(`${h.determined!.url}/api/v1/auth/login`, { username: 'determined', password: 'det-secret' });
  await axios.post(`${h.determined!.url}${p}`, {}, { headers: { authorization: `Bearer ${login.data.token}` } });
}

async function experiment(id: number) {
  return (await masterGet<{ experiment: { id: number; state: string; labels: string[]; forkedFrom?: number }; config: Record<string, unknown> }>(`/api/v1/experiments/${id}`));
}

async function waitDone(id: number): Promise<ExperimentProgress> {
  return run(h.activities, 'waitForExperiment', { experimentId: id, pollInterval: '50ms' });
}

describe('fetchExperiment', () => {
  test('resolves the ref to a sha and reads the config, honouring .detignore in the counts', () => {
    expect(code.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(code).toMatchObject({ experimentName: 'dogcat_single', searcherMetric: 'accuracy', smallerIsBetter: false });
    expect(code.files).toBe(3); // const.yaml, model_def.py, .detignore (data/ ignored)
  });

  test('a ref that does not exist is a non-retryable GitSource', async () => {
    await expectFailure(
      run(h.activities, 'fetchExperiment', { source: { ...code.source, ref: 'no-such-branch' } }),
      'GitSource',
      { nonRetryable: true, message: /no-such-branch/ },
    );
  });

  test('an unreachable repository, a missing path or config file are non-retryable GitSource', async () => {
    await expectFailure(run(h.activities, 'fetchExperiment', { source: { ...code.source, gitUrl: path.join(h.tmp, 'nope') } }), 'GitSource', {
      nonRetryable: true,
      message: /nope/,
    });
    await expectFailure(run(h.activities, 'fetchExperiment', { source: { ...code.source, path: 'missing-dir' } }), 'GitSource', {
      nonRetryable: true,
      message: /missing-dir/,
    });
    await expectFailure(run(h.activities, 'fetchExperiment', { source: { ...code.source, configFile: 'absent.yaml' } }), 'GitSource', {
      nonRetryable: true,
      message: /absent\.yaml/,
    });
  });

  test('invalid YAML is a non-retryable InvalidConfig', async () => {
    const bad = makeGitRepo(path.join(h.tmp, 'bad-yaml-repo'), { 'const.yaml': 'searcher: [unclosed\n' });
    await expectFailure(run(h.activities, 'fetchExperiment', { source: { gitUrl: bad.url, ref: 'main', path: '.', configFile: 'const.yaml' } }), 'InvalidConfig', {
      nonRetryable: true,
      message: /not valid YAML/,
    });
  });
});

describe('lookupModel', () => {
  test('creates a missing model (exact name) and answers null until a version exists', async () => {
    // A model whose name contains the wanted one must not be taken for it (the master's filter is a substring match).
    await run(h.activities, 'lookupModel', { modelName: 'dogs-and-cats-v2', pipelineName: 'other', inputRepo });
    const found = await run(h.activities, 'lookupModel', { modelName: 'dogs-and-cats', pipelineName: 'dogs-and-cats-model', inputRepo });
    expect(found).toBeNull();
    const { model } = await masterGet<{ model: { name: string; labels: string[]; metadata: Record<string, string> } }>('/api/v1/models/dogs-and-cats');
    expect(model.labels).toEqual(['dogs-and-cats-model', 'dogs-and-cats']);
    expect(model.metadata).toEqual({ pipeline: 'dogs-and-cats-model', repository: 'dogs-and-cats' });
  });

  test('a name the master refuses is a non-retryable BadRequest with its reason (not a lookup of another model)', async () => {
    await expectFailure(run(h.activities, 'lookupModel', { modelName: '20240101', pipelineName: 'p', inputRepo }), 'BadRequest', {
      nonRetryable: true,
      message: /HTTP 400: model names cannot be only numbers/,
    });
  });
});

test('ensureModel reads a model created meanwhile (409 AlreadyExists), and only then', async () => {
  const missing = failure(ErrorType.NotFound, 'GET /api/v1/models/raced: HTTP 404', true, { status: 404 });
  const taken = failure(ErrorType.BadRequest, 'POST /api/v1/models: HTTP 409: avoid names equal to other models (case-sensitive)', true, { status: 409 });
  const refused = failure(ErrorType.BadRequest, 'POST /api/v1/models: HTTP 400: model names cannot have slashes', true, { status: 400 });
  const model = { name: 'raced' } as Model;
  const stub = (postError: unknown) => {
    const getModel = jest.fn().mockRejectedValueOnce(missing).mockResolvedValue({ model });
    return { getModel, postModel: jest.fn().mockRejectedValue(postError) } as unknown as DeterminedClient & { getModel: jest.Mock };
  };
  const input = { modelName: 'raced', pipelineName: 'p', inputRepo };
  const raced = stub(taken);
  expect(await ensureModel(raced, input)).toBe(model);
  expect(raced.getModel).toHaveBeenCalledTimes(2);
  const invalid = stub(refused);
  await expect(ensureModel(invalid, input)).rejects.toBe(refused);
  expect(invalid.getModel).toHaveBeenCalledTimes(1);
});

describe('training round trip', () => {
  test('submit (enriched config, idempotent), wait, register (idempotent), continue from it, lookup', async () => {
    const first = await run(h.activities, 'submitExperiment', submitInput());
    expect(first.created).toBe(true);
    const again = await run(h.activities, 'submitExperiment', submitInput());
    expect(again).toEqual({ experimentId: first.experimentId, created: false });

    const { experiment: exp, config } = await experiment(first.experimentId);
    expect(exp.labels).toEqual(expect.arrayContaining(['dogs-and-cats', COMMIT_A, 'dogs-and-cats-model', 'workflow:ct-train-test-1']));
    expect(exp.labels.some((l) => /^ct-run-[0-9a-f]{16}$/.test(l))).toBe(true);
    expect((config.data as { pachyderm: Record<string, unknown> }).pachyderm).toMatchObject({
      host: 'pachd.test',
      port: 1650,
      project: 'default',
      repo: 'dogs-and-cats',
      branch: 'master',
      commit: COMMIT_A,
    });
    // Not the worker's token: the read-only robot token (its own test below).
    expect((config.data as { pachyderm: { token: string } }).pachyderm.token).toMatch(/^[0-9a-f]{32}$/);

    const done = await waitDone(first.experimentId);
    expect(done).toMatchObject({ experimentId: first.experimentId, state: 'COMPLETED' });

    const registerInput = {
      modelName: 'dogs-and-cats',
      pipelineName: 'dogs-and-cats-model',
      inputRepo,
      experimentId: first.experimentId,
      commit: COMMIT_A,
      baseCommit: null,
      workflowId: 'ct-train-test-1',
    };
    const v1 = await run(h.activities, 'registerModelVersion', registerInput);
    expect(v1).toMatchObject({ modelName: 'dogs-and-cats', name: COMMIT_A, trainedOnCommit: COMMIT_A, experimentId: first.experimentId });
    expect(typeof v1.metric).toBe('number');
    const v1again = await run(h.activities, 'registerModelVersion', registerInput);
    expect(v1again).toEqual(v1);
    const versions = await masterGet<{ modelVersions: unknown[] }>('/api/v1/models/dogs-and-cats/versions');
    expect(versions.modelVersions).toHaveLength(1);

    // Continue from v1 on the next commit.
    const second = await run(h.activities, 'submitExperiment', submitInput({ commit: COMMIT_B, baseCommit: COMMIT_A, parent: v1 }));
    expect(second.created).toBe(true);
    const continued = await experiment(second.experimentId);
    expect((continued.config.searcher as Record<string, unknown>).source_checkpoint_uuid).toBe(v1.checkpointUuid);
    expect(continued.experiment.forkedFrom).toBe(first.experimentId);
    expect(await waitDone(second.experimentId)).toMatchObject({ state: 'COMPLETED' });
    const v2 = await run(h.activities, 'registerModelVersion', { ...registerInput, experimentId: second.experimentId, commit: COMMIT_B, baseCommit: COMMIT_A });
    expect(v2.version).toBe(v1.version + 1);

    const latest = await run(h.activities, 'lookupModel', { modelName: 'dogs-and-cats', pipelineName: 'dogs-and-cats-model', inputRepo });
    expect(latest).toEqual(v2);
  });

  test('continuing with changed code uploads the new code (no parentId) and warm-starts from the checkpoint', async () => {
    const first = await run(h.activities, 'submitExperiment', submitInput({ workflowId: 'ct-train-code-1', commit: '2'.repeat(32) }));
    await waitDone(first.experimentId);
    // The model does not exist yet: registration creates it (as when it was deleted since lookupModel).
    const v = await run(h.activities, 'registerModelVersion', {
      modelName: 'code-change',
      pipelineName: 'p',
      inputRepo,
      experimentId: first.experimentId,
      commit: '2'.repeat(32),
      baseCommit: null,
      workflowId: 'ct-train-code-1',
    });
    commitFiles(repoUrl, { 'experiment/model_def.py': 'class DogCatModel: version = 2\n' }, 'new model code');
    const newCode = await run(h.activities, 'fetchExperiment', { source: code.source });
    expect(newCode.sha).not.toBe(code.sha);

    const second = await run(h.activities, 'submitExperiment', submitInput({ workflowId: 'ct-train-code-2', commit: '3'.repeat(32), code: newCode, parent: v }));
    const continued = await experiment(second.experimentId);
    expect(continued.experiment.forkedFrom ?? null).toBeNull();
    expect((continued.config.searcher as Record<string, unknown>).source_checkpoint_uuid).toBe(v.checkpointUuid);
    expect(continued.experiment.labels).toContain(`ct-continues-experiment-${first.experimentId}`);
    const uploaded = h.determined!.store.loadModelDefinition(second.experimentId);
    const modelDef = uploaded.find((f) => f.path === 'model_def.py');
    expect(Buffer.from(modelDef!.content, 'base64').toString()).toContain('version = 2');
    expect(uploaded.some((f) => f.path.startsWith('data'))).toBe(false); // .detignore
  });

  test('submitExperiment re-fetches the exact sha when this worker has no cached copy', async () => {
    const other = createActivities({ ...h.config, cacheDir: path.join(h.tmp, 'other-worker-cache') });
    const res = await run(other, 'submitExperiment', submitInput({ workflowId: 'ct-train-other-worker', commit: 'c'.repeat(32) }));
    expect(res.created).toBe(true);
    expect(fs.readdirSync(path.join(h.tmp, 'other-worker-cache', 'code'))[0]).toContain(code.sha);
  });

  test('a refused request (429/503) is sent again by the client itself, within the same attempt, once for the effect', async () => {
    h.determined!.faults.set({ rules: [{ route: '^POST /api/v1/experiments$', errorRate: 1, status: 429, times: 2 }] });
    const input = submitInput({ workflowId: 'ct-train-429', commit: '6'.repeat(32) });
    const res = await run(h.activities, 'submitExperiment', input);
    expect(res.created).toBe(true);
    expect(await run(h.activities, 'submitExperiment', input)).toEqual({ experimentId: res.experimentId, created: false });
    h.determined!.faults.clear();
  });

  test('a retry after an injected 503 creates exactly one experiment', async () => {
    // Three refusals: more than the client's own two re-sends, so the activity attempt fails and is retried.
    h.determined!.faults.set({ rules: [{ route: '^POST /api/v1/experiments$', errorRate: 1, status: 503, times: 3 }] });
    const input = submitInput({ workflowId: 'ct-train-503', commit: 'd'.repeat(32) });
    await expectFailure(run(h.activities, 'submitExperiment', input), 'Unavailable', { nonRetryable: false, message: /503/ });
    const res = await run(h.activities, 'submitExperiment', input);
    expect(res.created).toBe(true);
    const again = await run(h.activities, 'submitExperiment', input);
    expect(again).toEqual({ experimentId: res.experimentId, created: false });
    h.determined!.faults.clear();
  });

  test('a config the master rejects is a non-retryable InvalidConfig with its message', async () => {
    const bad = makeGitRepo(path.join(h.tmp, 'invalid-config-repo'), {
      'const.yaml': yaml.dump({ name: 'bad', entrypoint: 'x:Y', searcher: { name: 'no-such-searcher', metric: 'loss', max_length: { batches: 1 } } }),
    });
    const badCode = await run(h.activities, 'fetchExperiment', { source: { gitUrl: bad.url, ref: 'main', path: '.', configFile: 'const.yaml' } });
    await expectFailure(run(h.activities, 'submitExperiment', submitInput({ code: badCode, workflowId: 'ct-bad-config' })), 'InvalidConfig', {
      nonRetryable: true,
      message: /searcher/,
    });
  });
});

describe("the experiment's pachd token (issue 19.11)", () => {
  const pachdConfig = async (experimentId: number) => (await experiment(experimentId)).config.data as { pachyderm: Record<string, unknown> };
  const as = (token: string) => new PachdRestClient({ url: h.pachd!.url, authToken: token });
  const refused = async (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: unknown) => (e instanceof PachdError ? `${e.httpStatus} ${e.message}` : String(e)),
    );

  test("is a robot's, not the worker's: reads the input repo only, no writes, expires after training.timeout", async () => {
    const before = Date.now();
    const { experimentId } = await run(h.activities, 'submitExperiment', submitInput({ workflowId: 'ct-train-token', commit: '7'.repeat(32), trainingTimeout: '2h' }));
    const token = String((await pachdConfig(experimentId)).pachyderm.token);
    expect(token).not.toBe(PACH_TOKEN);
    const experimentPachd = as(token);

    const who = await experimentPachd.call<{ username: string; expiration: string }>('auth_v2.API/WhoAmI', {});
    expect(who.username).toBe('robot:ct-reader/default/dogs-and-cats');
    const lifetime = (2 * 3600 + EXPIRY_MARGIN_SECONDS) * 1000;
    expect(Date.parse(who.expiration)).toBeGreaterThanOrEqual(before + lifetime - 1000);
    expect(Date.parse(who.expiration)).toBeLessThanOrEqual(Date.now() + lifetime + 1000);

    // What the example experiment's data loader does: DiffFile (WalkFile for a first training) and downloads.
    const diff = await experimentPachd.list<{ newFile: { file: { path: string } } | null }>('pfs_v2.API/DiffFile', { newFile: { commit: commitOf(inputRepo.repo, 'master'), path: '/' } });
    expect(diff.map((d) => d.newFile?.file.path)).toContain('/cats/1.txt');
    expect((await experimentPachd.download(inputRepo.repo, 'master', 'cats/1.txt')).toString()).toBe('meow');

    expect(await refused(experimentPachd.download('someone-elses', 'master', 'secret.txt'))).toMatch(/^403 .*robot:ct-reader\/default\/dogs-and-cats is not authorized .*REPO default\/someone-elses/);
    expect(await refused(experimentPachd.call('pfs_v2.API/StartCommit', { branch: { repo: { name: inputRepo.repo, type: 'user', project: { name: 'default' } }, name: 'master' } }))).toMatch(
      /^403 .*needs permissions \[REPO_WRITE\] on REPO default\/dogs-and-cats/,
    );
    expect(await refused(experimentPachd.call('auth_v2.API/GetRobotToken', { robot: 'escalate' }))).toMatch(/^403 .*CLUSTER_AUTH_GET_ROBOT_TOKEN/);
  });

  test('a retry that finds the experiment mints nothing', async () => {
    const input = submitInput({ workflowId: 'ct-train-token-retry', commit: '8'.repeat(32), trainingTimeout: '1h' });
    const first = await run(h.activities, 'submitExperiment', input);
    await axios.put(`${h.pachd!.url}/__emulator/faults`, { rules: [{ route: 'GetRobotToken|ModifyRoleBinding', errorRate: 1, status: 503 }] });
    try {
      expect(await run(h.activities, 'submitExperiment', input)).toEqual({ experimentId: first.experimentId, created: false });
      // The fault does bite a submission that mints.
      await expectFailure(run(h.activities, 'submitExperiment', { ...input, workflowId: 'ct-train-token-new' }), 'Unavailable', { nonRetryable: false, message: /injected fault/ });
    } finally {
      await axios.delete(`${h.pachd!.url}/__emulator/faults`);
    }
  });

  test("a worker token that may not mint: a typed non-retryable failure naming the roles, and no experiment", async () => {
    const root = as(PACH_TOKEN);
    const { token: plain } = await root.call<{ token: string }>('auth_v2.API/GetRobotToken', { robot: 'plain-worker', ttl: '600' });
    const worker = createActivities({ ...h.config, pachyderm: { ...h.config.pachyderm, token: plain } });
    const input = submitInput({ workflowId: 'ct-train-token-denied', commit: '9'.repeat(32) });
    const err = await expectFailure(run(worker, 'submitExperiment', input), 'PermissionDenied', {
      nonRetryable: true,
      message: /needs clusterAdmin, or robotUser on the cluster plus repoOwner on each input repo .*PACHD_EXPERIMENT_TOKEN=worker/,
    });
    expect(err.message).not.toContain(plain);
    const labelled = await masterGet<{ experiments: { labels?: string[] }[] }>('/api/v1/experiments?labels=workflow:ct-train-token-denied');
    expect((labelled.experiments ?? []).filter((e) => e.labels?.includes('workflow:ct-train-token-denied'))).toEqual([]);

    // robotUser on the cluster and repoOwner on the input repo are enough.
    await root.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:plain-worker', roles: ['robotUser'], resource: { type: 'CLUSTER', name: '' } });
    await root.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:plain-worker', roles: ['repoOwner'], resource: { type: 'REPO', name: 'default/dogs-and-cats' } });
    const { experimentId } = await run(worker, 'submitExperiment', input);
    const token = String((await pachdConfig(experimentId)).pachyderm.token);
    expect([token === plain, token === PACH_TOKEN]).toEqual([false, false]);
  });

  test("a master that quotes the config back in its refusal: the failure (message and stack) has no token", async () => {
    // A proxy in front of the master answers experiment creation with 400 and the request body, as a validator may.
    const target = new URL(h.determined!.url);
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && req.url === '/api/v1/experiments') {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 3, message: `invalid experiment: ${body.toString('utf8')}` }));
          return;
        }
        const out = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        out.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const viaProxy = createActivities({ ...h.config, determined: { ...h.config.determined, url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` } });
      const err = await expectFailure(run(viaProxy, 'submitExperiment', submitInput({ workflowId: 'ct-train-token-quoted', commit: '5'.repeat(32) })), 'InvalidConfig', {
        nonRetryable: true,
        message: /invalid experiment: .*<pachd token>/,
      });
      expect(`${err.message}\n${err.stack}`).not.toMatch(/token[^a-z]{1,8}[0-9a-f]{32}/);
      expect(`${err.message}\n${err.stack}`).not.toContain(PACH_TOKEN);
    } finally {
      proxy.close();
    }
  });

  test('PACHD_EXPERIMENT_TOKEN=worker hands over the worker token; =none and pachd auth off give no token key at all', async () => {
    const modes = [
      { name: 'worker', pachyderm: { ...h.config.pachyderm, experimentToken: 'worker' as const }, expected: PACH_TOKEN },
      { name: 'none', pachyderm: { ...h.config.pachyderm, experimentToken: 'none' as const }, expected: undefined },
      { name: 'auth-off', pachyderm: { ...h.config.pachyderm, token: undefined }, expected: undefined },
    ];
    for (const mode of modes) {
      const activities = createActivities({ ...h.config, pachyderm: mode.pachyderm });
      const { experimentId } = await run(activities, 'submitExperiment', submitInput({ workflowId: `ct-train-token-${mode.name}`, commit: '6'.repeat(32) }));
      const { pachyderm } = await pachdConfig(experimentId);
      expect([mode.name, pachyderm.token]).toEqual([mode.name, mode.expected]);
      expect(Object.keys(pachyderm).includes('token')).toBe(mode.expected !== undefined);
    }
  });
});

describe('waitForExperiment', () => {
  test('cancellation kills the experiment and rethrows the cancellation', async () => {
    await setOutcomes([{ label: '^ct-hang-label$', outcome: 'HANG' }]);
    const { experimentId } = await submitHanging('ct-train-cancel');
    const { env, heartbeats } = mockEnv();
    const waiting = run(h.activities, 'waitForExperiment', { experimentId, pollInterval: '50ms' }, env);
    await waitFor(async () => heartbeats.length >= 2, 'heartbeats');
    env.cancel();
    await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
    const state = await waitFor(async () => {
      const s = (await experiment(experimentId)).experiment.state;
      return ['STATE_CANCELED', 'STATE_STOPPING_KILLED', 'STATE_STOPPING_CANCELED'].includes(s) && s;
    }, 'the experiment to be killed');
    expect(state).toMatch(/CANCELED|KILLED/);
  });

  test('PAUSED is not terminal: the wait goes on until the experiment is activated and completes', async () => {
    await setOutcomes([]);
    const { experimentId } = await run(h.activities, 'submitExperiment', submitInput({ workflowId: 'ct-train-pause', commit: '4'.repeat(32) }));
    await masterPost(`/api/v1/experiments/${experimentId}/pause`);
    const { env, heartbeats } = mockEnv();
    const waiting = run(h.activities, 'waitForExperiment', { experimentId, pollInterval: '50ms' }, env);
    await waitFor(async () => heartbeats.some((d) => (d as ExperimentProgress).state === 'PAUSED'), 'a PAUSED heartbeat');
    await masterPost(`/api/v1/experiments/${experimentId}/activate`);
    expect(await waiting).toMatchObject({ experimentId, state: 'COMPLETED' });
  });

  test('resumes from heartbeat details without re-submitting, heartbeating the state every poll', async () => {
    const { experimentId } = await run(h.activities, 'submitExperiment', submitInput({ workflowId: 'ct-train-resume', commit: 'e'.repeat(32) }));
    const before = (await masterGet<{ experiments: unknown[] }>('/api/v1/experiments?limit=100')).experiments.length;
    const { env, heartbeats } = mockEnv({ heartbeatDetails: { experimentId, state: 'RUNNING', progress: 0.5 }, attempt: 2 });
    const done = await run(h.activities, 'waitForExperiment', { experimentId, pollInterval: '50ms' }, env);
    expect(done.state).toBe('COMPLETED');
    expect(heartbeats[0]).toEqual({ experimentId, state: 'RUNNING', progress: 0.5 });
    expect(heartbeats.at(-1)).toMatchObject({ experimentId, state: 'COMPLETED' });
    const after = (await masterGet<{ experiments: unknown[] }>('/api/v1/experiments?limit=100')).experiments.length;
    expect(after).toBe(before);
  });
});

test('waitForExperiment with returnWhenStateChangesFrom returns at each state change, ending at the terminal one', async () => {
  await setOutcomes([]);
  const { experimentId } = await run(h.activities, 'submitExperiment', submitInput({ workflowId: 'ct-train-steps', commit: '5'.repeat(32) }));
  const seen: string[] = [];
  let state: ExperimentProgress['state'] = 'UNSPECIFIED';
  while (!['COMPLETED', 'ERROR', 'CANCELED', 'DELETED'].includes(state)) {
    const progress: ExperimentProgress = await run(h.activities, 'waitForExperiment', { experimentId, pollInterval: '20ms', returnWhenStateChangesFrom: state });
    expect(progress.state).not.toBe(state);
    state = progress.state;
    seen.push(state);
  }
  expect(seen.at(-1)).toBe('COMPLETED');
  expect(seen.length).toBeGreaterThanOrEqual(2);
  expect(new Set(seen).size).toBe(seen.length);
});

describe('registerModelVersion', () => {
  test('an experiment without a checkpoint is a non-retryable NoCheckpoint', async () => {
    await setOutcomes([{ label: '^ct-nockpt-label$', outcome: 'NO_CHECKPOINT' }]);
    const bad = await run(h.activities, 'submitExperiment', submitInput({ workflowId: 'ct-train-nockpt', commit: 'f'.repeat(32), code: await codeWithLabel('ct-nockpt-label') }));
    await waitDone(bad.experimentId);
    await expectFailure(
      run(h.activities, 'registerModelVersion', {
        modelName: 'dogs-and-cats',
        pipelineName: 'p',
        inputRepo,
        experimentId: bad.experimentId,
        commit: 'f'.repeat(32),
        baseCommit: null,
        workflowId: 'w',
      }),
      'NoCheckpoint',
      { nonRetryable: true, message: /no completed checkpoint/ },
    );
  });
});

test('wrong Determined credentials are a non-retryable Unauthenticated', async () => {
  const wrong = createActivities({ ...h.config, determined: { ...h.config.determined, password: 'wrong' } });
  await expectFailure(run(wrong, 'lookupModel', { modelName: 'x', pipelineName: 'p', inputRepo }), 'Unauthenticated', {
    nonRetryable: true,
    message: /login/,
  });
});

async function setOutcomes(rules: unknown[]): Promise<void> {
  await axios.put(`${h.determined!.url}/__emulator/outcomes`, { rules });
}

/** Experiment code whose config carries `label`, so emulator outcome rules can select its runs. */
async function codeWithLabel(label: string): Promise<ExperimentCode> {
  const dir = path.join(h.tmp, `repo-${label}`);
  const config = yaml.load(EXPERIMENT_CONFIG) as Record<string, unknown>;
  const repo = makeGitRepo(dir, { 'const.yaml': yaml.dump({ ...config, labels: [label] }) });
  return run(h.activities, 'fetchExperiment', { source: { gitUrl: repo.url, ref: 'main', path: '.', configFile: 'const.yaml' } });
}

async function submitHanging(workflowId: string) {
  return run(h.activities, 'submitExperiment', submitInput({ workflowId, commit: '1'.repeat(32), code: await codeWithLabel('ct-hang-label') }));
}
