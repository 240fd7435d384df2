// The product's Pachyderm activities against Pachyderm's own pachd (v2.12.2), authenticated as a robot
// user: the diff semantics the training relies on, waiting for an unfinished commit, publishModel's one
// output commit (with the Determined emulator for checkpoints), readModelInfo, typed errors, and the
// REST gateway's Connection-header defect the HTTP client works around while reusing connections.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { createActivities } from 'continuous-training/activities';
import { createAgents } from 'continuous-training/activities/http/client';
import { PachydermClient } from 'continuous-training/activities/pachyderm/client';
import { repoOf } from 'continuous-training/activities/pachyderm/types';
import { DeterminedClient } from 'continuous-training/activities/determined/client';
import { ensureModel } from 'continuous-training/activities/model-registry';
import type { ConnectionsConfig } from 'continuous-training/activities';
import type { ModelVersionRef, PublishModelInput, RepoRef } from 'continuous-training/common/types';
import { expectFailure, mockEnv, run, testConfig, waitFor, DET_PASSWORD } from 'continuous-training/test/activities/helpers';
import { startDeterminedEmulator, type RunningDeterminedEmulator } from '@continuous-training/emulators/determined';
import { PachdRestClient, putFiles } from '@continuous-training/emulators/pachyderm';
import type { RealPachd } from '../../real-pachd';
import { describeRealPachd, repoMsg, startTestPachd } from './helpers';

describeRealPachd('the Pachyderm activities against real pachd', () => {
  let pachd: RealPachd;
  let determined: RunningDeterminedEmulator;
  let robot: string;
  let config: ConnectionsConfig;
  let activities: ReturnType<typeof createActivities>;
  let root: PachdRestClient;
  let tmp: string;
  const data: RepoRef = { project: 'default', repo: 'images', branch: 'master' };
  const output: RepoRef = { project: 'default', repo: 'images-model', branch: 'master' };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-real-activities-'));
    pachd = await startTestPachd();
    determined = await startDeterminedEmulator({ stateDir: path.join(tmp, 'determined'), password: DET_PASSWORD });
    robot = await pachd.robotToken('ct-worker');
    const base = testConfig(tmp, { pachd: pachd.url, determined: determined.url });
    config = { ...base, pachyderm: { ...base.pachyderm, token: robot } };
    activities = createActivities(config);
    root = new PachdRestClient({ url: pachd.url, authToken: pachd.rootToken });
  });

  afterAll(async () => {
    await determined?.close();
    await pachd?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // The robot creates the repos it writes, so it owns them (a robot has no rights on others' repos).
  const put = (files: Record<string, string>, deletes: string[] = [], repo = data.repo) =>
    putFiles({ url: pachd.url, authToken: robot }, repo, 'master', files, { deletes });

  describe('diffCommit', () => {
    let first: string;
    let second: string;

    beforeAll(async () => {
      first = await put({ '/a.txt': 'aaaa', '/dir/b.txt': 'bb' });
      // putFiles overwrites /a.txt as pachyderm_sdk does: deleteFile, then addFile.
      second = await put({ '/a.txt': 'changed', '/c.txt': 'c' }, ['/dir/b.txt']);
    });

    test('added, modified (deleteFile then addFile) and deleted files against the parent, and against an explicit base', async () => {
      const summary = await run(activities, 'diffCommit', { repo: data, commit: second });
      expect(summary).toMatchObject({
        commit: second,
        baseCommit: first,
        added: { files: 1, bytes: 1 },
        modified: { files: 1, bytes: 7 },
        deleted: { files: 1, bytes: 2 },
        kind: 'data',
      });
      expect(await run(activities, 'diffCommit', { repo: data, commit: second, baseCommit: first })).toEqual(summary);
    });

    test('a first commit is all additions with no base; deletions only; an empty commit', async () => {
      expect(await run(activities, 'diffCommit', { repo: data, commit: first })).toMatchObject({ baseCommit: null, added: { files: 2, bytes: 6 }, kind: 'data' });
      const third = await put({}, ['/c.txt']);
      expect(await run(activities, 'diffCommit', { repo: data, commit: third })).toMatchObject({ kind: 'deletions-only', deleted: { files: 1, bytes: 1 } });
      const fourth = await put({});
      expect(await run(activities, 'diffCommit', { repo: data, commit: fourth })).toMatchObject({ kind: 'empty', added: { files: 0, bytes: 0 } });
    });

    test('a base two commits back sums both changes', async () => {
      const third = await put({ '/a.txt': 'again' });
      expect(await run(activities, 'diffCommit', { repo: data, commit: third, baseCommit: first })).toMatchObject({
        baseCommit: first,
        added: { files: 0 }, // /c.txt came and went between the two
        modified: { files: 1, bytes: 5 },
        deleted: { files: 1, bytes: 2 }, // /dir/b.txt
      });
    });

    test('waits for an unfinished commit, heartbeating', async () => {
      const robotClient = new PachdRestClient({ url: pachd.url, authToken: robot });
      const commit = await robotClient.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repoMsg(data.repo), name: 'master' } });
      const { env, heartbeats } = mockEnv();
      const diff = run(activities, 'diffCommit', { repo: data, commit: commit.id }, env);
      await waitFor(async () => heartbeats.length > 0, 'a heartbeat while waiting');
      const ref = { repo: repoMsg(data.repo), id: commit.id };
      await robotClient.modifyFile([{ setCommit: ref }, { addFile: { path: '/late.txt', raw: Buffer.from('late').toString('base64') } }]);
      await robotClient.call('pfs_v2.API/FinishCommit', { commit: ref });
      expect(await diff).toMatchObject({ commit: commit.id, added: { files: 1, bytes: 4 }, kind: 'data' });
      expect(heartbeats[0]).toMatchObject({ phase: 'waiting-for-commit' });
    });

    // To a robot, pachd answers a missing repo with HTTP 500 `no role binding exists` (see PachydermClient),
    // and a missing commit id with a panic of its own (code Aborted, HTTP 409): neither may be retried.
    test('an unknown repository or commit, or a failed commit, is a non-retryable InvalidCommit', async () => {
      await expectFailure(run(activities, 'diffCommit', { repo: { ...data, repo: 'no-such-repo' }, commit: 'f'.repeat(32) }), 'InvalidCommit', {
        nonRetryable: true,
        message: /no-such-repo/,
      });
      await expectFailure(run(activities, 'diffCommit', { repo: data, commit: 'e'.repeat(32) }), 'InvalidCommit', { nonRetryable: true, message: /e{32}/ });
      const robotClient = new PachdRestClient({ url: pachd.url, authToken: robot });
      const commit = await robotClient.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repoMsg(data.repo), name: 'master' } });
      await robotClient.call('pfs_v2.API/FinishCommit', { commit: { repo: repoMsg(data.repo), id: commit.id }, error: 'upstream job failed' });
      await expectFailure(run(activities, 'diffCommit', { repo: data, commit: commit.id }), 'InvalidCommit', { nonRetryable: true, message: /upstream job failed/ });
    });

    test('a wrong token, or a robot without rights on the repo (HTTP 403), is a non-retryable Unauthenticated', async () => {
      const wrong = createActivities({ ...config, pachyderm: { ...config.pachyderm, token: 'wrong' } });
      await expectFailure(run(wrong, 'diffCommit', { repo: data, commit: second }), 'Unauthenticated', { nonRetryable: true, message: /InspectCommit/ });
      const stranger = createActivities({ ...config, pachyderm: { ...config.pachyderm, token: await pachd.robotToken('stranger') } });
      await expectFailure(run(stranger, 'diffCommit', { repo: data, commit: second }), 'Unauthenticated', {
        nonRetryable: true,
        message: /HTTP 403: robot:stranger is not authorized/,
      });
    });
  });

  describe('publishModel and readModelInfo', () => {
    async function registeredVersion(files: Record<string, number>, version: number): Promise<ModelVersionRef> {
      const res = await axios.post<{ experimentId: number; checkpointUuid: string }>(`${determined.url}/__emulator/checkpoints`, { files, metric: 0.25 });
      // Registered for real: readModelInfo checks the model info against the registry.
      const registry = new DeterminedClient(config);
      await ensureModel(registry, { modelName: 'images', pipelineName: 'images-model', inputRepo: data });
      const { modelVersion } = await registry.postModelVersion({ modelName: 'images', checkpointUuid: res.data.checkpointUuid, name: 'c'.repeat(32) });
      expect(modelVersion.version).toBe(version);
      return {
        modelName: 'images',
        version,
        name: 'c'.repeat(32),
        checkpointUuid: res.data.checkpointUuid,
        experimentId: res.data.experimentId,
        trainedOnCommit: 'c'.repeat(32),
        metric: 0.25,
      };
    }
    const publishInput = (version: ModelVersionRef): PublishModelInput => ({
      output,
      pipelineName: 'images-model',
      inputRepo: data,
      version,
      commit: 'c'.repeat(32),
      baseCommit: 'b'.repeat(32),
    });
    const outputCommits = () =>
      root.list<{ commit: { id: string }; description?: string; finished?: string | null; error?: string }>('pfs_v2.API/ListCommit', { repo: repoMsg(output.repo) });

    test('publishes the checkpoint and model-info.yaml as one finished commit, once', async () => {
      const version = await registeredVersion({ 'state_dict.pth': 3 * 1024 * 1024 + 17, 'metadata.json': 10, 'code/model_def.py': 0 }, 1);
      const published = await run(activities, 'publishModel', publishInput(version));
      expect(published).toMatchObject({ created: true, files: 4 });
      const stored = determined.store.checkpoint(version.checkpointUuid)!;
      const original = fs.readFileSync(path.join(determined.stateDir, stored.dir, 'state_dict.pth'));
      const file = await root.getFile(output.repo, published.outputCommit, '/checkpoint/state_dict.pth');
      expect(file.equals(original)).toBe(true);
      expect((await root.getFile(output.repo, published.outputCommit, '/checkpoint/code/model_def.py')).length).toBe(0);

      expect(await run(activities, 'readModelInfo', { repo: output, commit: published.outputCommit })).toMatchObject({
        name: 'images',
        registryVersion: 1,
        checkpointUuid: version.checkpointUuid,
        inputCommit: 'c'.repeat(32),
        baseCommit: 'b'.repeat(32),
      });

      const again = await run(activities, 'publishModel', publishInput(version));
      expect(again).toEqual({ ...published, created: false });
      const mine = (await outputCommits()).filter((c) => c.description?.includes('version=1 '));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ commit: { id: published.outputCommit }, finished: expect.any(String), error: '' });
    });

    test('a crash after StartCommit is finished cleanly by the next attempt (one commit, no stale files)', async () => {
      const version = await registeredVersion({ 'weights.bin': 1000 }, 2);
      const robotClient = new PachdRestClient({ url: pachd.url, authToken: robot });
      const open = await robotClient.call<{ id: string }>('pfs_v2.API/StartCommit', {
        branch: { repo: repoMsg(output.repo), name: 'master' },
        description: 'ct-publish model=images version=2',
      });
      const ref = { repo: repoMsg(output.repo), id: open.id };
      await robotClient.modifyFile([{ setCommit: ref }, { addFile: { path: '/checkpoint/partial.tmp', raw: Buffer.from('junk').toString('base64') } }]);

      const published = await run(activities, 'publishModel', publishInput(version));
      expect(published).toMatchObject({ outputCommit: open.id, created: true, files: 2 });
      await expect(root.getFile(output.repo, open.id, '/checkpoint/partial.tmp')).rejects.toThrow(/not found/);
      expect((await root.getFile(output.repo, open.id, '/checkpoint/weights.bin')).length).toBe(1000);
      expect((await outputCommits()).filter((c) => c.description?.startsWith('ct-publish model=images version=2'))).toHaveLength(1);
    });

    test('a missing model-info.yaml is a non-retryable InvalidModelInfo', async () => {
      const empty = await put({ '/other.txt': 'x' }, [], 'not-a-model');
      await expectFailure(run(activities, 'readModelInfo', { repo: { ...output, repo: 'not-a-model' }, commit: empty }), 'InvalidModelInfo', {
        nonRetryable: true,
        message: /not found|does not exist/,
      });
    });
  });

  describe("the REST gateway's Connection header defect", () => {
    const inspectRepo = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${pachd.url}/api/pfs_v2.API/InspectRepo`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } });
        if (!headers.connection) req.removeHeader('connection');
        req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        req.on('error', reject);
        req.end(JSON.stringify({ repo: repoMsg(data.repo) }));
      });

    test('pachd answers a request carrying Connection with HTTP 500, the same request without it normally', async () => {
      expect(await inspectRepo({ 'authn-token': pachd.rootToken, connection: 'keep-alive' })).toBe(500);
      expect(await inspectRepo({ 'authn-token': pachd.rootToken })).toBe(200);
      expect(await inspectRepo({})).toBe(401);
    });

    test("the product's client works against it and reuses one connection", async () => {
      const agents = createAgents(config);
      const client = new PachydermClient(config, agents);
      const sockets = new Set<unknown>();
      agents.httpAgent.on('free', (socket) => sockets.add(socket));
      for (let i = 0; i < 5; i++) expect((await client.inspectRepo(repoOf('default', data.repo))).repo.name).toBe(data.repo);
      expect(sockets.size).toBe(1);
      agents.httpAgent.destroy();
    });
  });
});
