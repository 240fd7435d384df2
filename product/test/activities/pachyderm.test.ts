// diffCommit, publishModel and readModelInfo against the Pachyderm emulator (and the Determined emulator
// for checkpoints).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import * as tar from 'tar-stream';
import yaml from 'js-yaml';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { PachydermClient } from '../../activities/pachyderm/client';
import { repoOf } from '../../activities/pachyderm/types';
import { publishKey } from '../../activities/publish-model';
import { createTracing } from '../../worker/tracing';
import { readNdjsonBatches } from '../../activities/http/ndjson';
import { DeterminedClient } from '../../activities/determined/client';
import { ensureModel } from '../../activities/model-registry';
import type { ModelVersionRef, PublishModelInput, RepoRef } from '../../common/types';
import { PachdRestClient, putFiles } from '@continuous-training/emulators/pachyderm';
import { expectFailure, mockEnv, PACH_TOKEN, run, startHarness, waitFor, type Harness } from './helpers';

let h: Harness;
let pachd: PachdRestClient;
const data: RepoRef = { project: 'default', repo: 'images', branch: 'master' };
const output: RepoRef = { project: 'default', repo: 'images-model', branch: 'master' };
const repoMsg = (name: string) => ({ name, type: 'user', project: { name: 'default' } });

beforeAll(async () => {
  h = await startHarness({ pachd: true, determined: true });
  pachd = new PachdRestClient({ url: h.pachd!.url, authToken: PACH_TOKEN });
});

afterAll(async () => {
  await h.close();
});

const put = (files: Record<string, string>, deletes: string[] = [], repo = data.repo) =>
  putFiles({ url: h.pachd!.url, authToken: PACH_TOKEN }, repo, 'master', files, { deletes });

describe('diffCommit', () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    first = await put({ '/a.txt': 'aaaa', '/dir/b.txt': 'bb' });
    second = await put({ '/a.txt': 'changed', '/c.txt': 'c' }, ['/dir/b.txt']);
  });

  test('counts added, modified and deleted files against the parent', async () => {
    const summary = await run(h.activities, 'diffCommit', { repo: data, commit: second });
    expect(summary).toMatchObject({
      commit: second,
      baseCommit: first,
      added: { files: 1, bytes: 1 },
      modified: { files: 1, bytes: 7 },
      deleted: { files: 1, bytes: 2 },
      kind: 'data',
    });
    expect(summary.digest).toMatch(/^[0-9a-f]{64}$/);
    const explicit = await run(h.activities, 'diffCommit', { repo: data, commit: second, baseCommit: first });
    expect(explicit).toEqual(summary);
  });

  test('a first commit is all additions with no base', async () => {
    const summary = await run(h.activities, 'diffCommit', { repo: data, commit: first });
    expect(summary).toMatchObject({ baseCommit: null, added: { files: 2, bytes: 6 }, kind: 'data' });
  });

  test('deletions only, and an empty commit', async () => {
    const third = await put({}, ['/c.txt']);
    expect(await run(h.activities, 'diffCommit', { repo: data, commit: third })).toMatchObject({ kind: 'deletions-only', deleted: { files: 1, bytes: 1 } });
    const fourth = await put({});
    expect(await run(h.activities, 'diffCommit', { repo: data, commit: fourth })).toMatchObject({ kind: 'empty', added: { files: 0, bytes: 0 } });
  });

  test('waits for an unfinished commit, heartbeating', async () => {
    const commit = await pachd.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repoMsg(data.repo), name: 'master' } });
    const { env, heartbeats } = mockEnv();
    const diff = run(h.activities, 'diffCommit', { repo: data, commit: commit.id }, env);
    await waitFor(async () => heartbeats.length > 0, 'a heartbeat while waiting');
    const ref = { repo: repoMsg(data.repo), id: commit.id };
    await pachd.modifyFile([{ setCommit: ref }, { addFile: { path: '/late.txt', raw: Buffer.from('late').toString('base64') } }]);
    await pachd.call('pfs_v2.API/FinishCommit', { commit: ref });
    expect(await diff).toMatchObject({ commit: commit.id, added: { files: 1, bytes: 4 }, kind: 'data' });
    expect(heartbeats[0]).toMatchObject({ phase: 'waiting-for-commit' });
  });

  test('an unknown repository or commit, or a failed commit, is a non-retryable InvalidCommit', async () => {
    await expectFailure(run(h.activities, 'diffCommit', { repo: { ...data, repo: 'no-such-repo' }, commit: 'f'.repeat(32) }), 'InvalidCommit', {
      nonRetryable: true,
      message: /no-such-repo/,
    });
    await expectFailure(run(h.activities, 'diffCommit', { repo: data, commit: 'e'.repeat(32) }), 'InvalidCommit', { nonRetryable: true, message: /e{32}/ });
    const commit = await pachd.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repoMsg(data.repo), name: 'master' } });
    await pachd.call('pfs_v2.API/FinishCommit', { commit: { repo: repoMsg(data.repo), id: commit.id }, error: 'upstream job failed' });
    await expectFailure(run(h.activities, 'diffCommit', { repo: data, commit: commit.id }), 'InvalidCommit', { nonRetryable: true, message: /upstream job failed/ });
  });

  test('an injected 503 is retryable, and the retry answers the same', async () => {
    const expected = await run(h.activities, 'diffCommit', { repo: data, commit: second });
    h.pachd!.faults.set({ rules: [{ route: 'DiffFile', errorRate: 1, status: 503, times: 3 }] });
    await expectFailure(run(h.activities, 'diffCommit', { repo: data, commit: second }), 'Unavailable', { nonRetryable: false, message: /DiffFile.*503/ });
    expect(await run(h.activities, 'diffCommit', { repo: data, commit: second })).toEqual(expected);
  });

  test('a wrong token is a non-retryable Unauthenticated', async () => {
    const wrong = createActivities({ ...h.config, pachyderm: { ...h.config.pachyderm, token: 'wrong' } });
    await expectFailure(run(wrong, 'diffCommit', { repo: data, commit: second }), 'Unauthenticated', { nonRetryable: true, message: /InspectCommit/ });
  });

  test('a diff over many chunks: the digest is sha256 of its (kind, path, hash) lines in stream order', async () => {
    // DiffFile is read in batches, one per chunk received: lines (and multi-byte characters) split across
    // chunks must count once each, and the digest must not depend on how the stream was cut.
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`/d${i % 7}/${'ü'.repeat(40)}-${i}.txt`] = `${i}`;
    const commit = await put(files, [], 'many-files');
    const summary = await run(h.activities, 'diffCommit', { repo: { ...data, repo: 'many-files' }, commit });
    expect(summary).toMatchObject({ added: { files: 3000 }, modified: { files: 0 }, deleted: { files: 0 } });
    const res = await axios.post<string>(
      `${h.pachd!.url}/api/pfs_v2.API/DiffFile`,
      { newFile: { commit: { repo: repoMsg('many-files'), id: commit }, path: '/' } },
      { headers: { 'authn-token': PACH_TOKEN }, responseType: 'text' },
    );
    expect(res.data.length).toBeGreaterThan(1 << 20); // several chunks
    const digest = crypto.createHash('sha256');
    for (const line of res.data.split('\n').filter(Boolean)) {
      const { newFile } = (JSON.parse(line) as { result: { newFile: { fileType: string; file: { path: string }; hash: string } } }).result;
      if (newFile.fileType === 'FILE') digest.update(`added\t${newFile.file.path}\t${newFile.hash}\n`);
    }
    expect(summary.digest).toBe(digest.digest('hex'));
  });

  test('NDJSON batches: lines and characters split across chunks; results before an error line come first', async () => {
    const text = Buffer.from('{"result":{"p":"é1"}}\n{"result":{"p":"é2"}}\n\n{"result":{"p":"é3"}}\n{"error":{"code":5,"message":"gone"}}\n');
    const cut = text.indexOf('é2') + 1; // inside the two bytes of é
    const batches: unknown[][] = [];
    const reading = (async () => {
      for await (const batch of readNdjsonBatches(Readable.from([text.subarray(0, cut), text.subarray(cut)]), 'DiffFile')) batches.push(batch);
    })();
    await expectFailure(reading, 'NotFound', { nonRetryable: true, message: /DiffFile: gone/ });
    expect(batches).toEqual([[{ p: 'é1' }], [{ p: 'é2' }, { p: 'é3' }]]);
  });
});

describe('publishModel and readModelInfo', () => {
  async function registeredVersion(files: Record<string, number>, version: number): Promise<ModelVersionRef> {
    const res = await axios.post<{ experimentId: number; checkpointUuid: string }>(`${h.determined!.url}/__emulator/checkpoints`, { files, metric: 0.25 });
    // Registered for real: readModelInfo checks the model info against the registry.
    const determined = new DeterminedClient(h.config);
    await ensureModel(determined, { modelName: 'images', pipelineName: 'images-model', inputRepo: data });
    const { modelVersion } = await determined.postModelVersion({ modelName: 'images', checkpointUuid: res.data.checkpointUuid, name: 'c'.repeat(32) });
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

  async function outputCommits(): Promise<{ commit: { id: string }; description?: string; finishing?: string | null; error?: string }[]> {
    return pachd.list('pfs_v2.API/ListCommit', { repo: repoMsg(output.repo) });
  }

  test('publishes checkpoint files and model-info.yaml in one commit, once', async () => {
    const version = await registeredVersion({ 'state_dict.pth': 3 * 1024 * 1024 + 17, 'metadata.json': 10, 'code/model_def.py': 0 }, 1);
    const published = await run(h.activities, 'publishModel', publishInput(version));
    expect(published).toMatchObject({ created: true, files: 4 });
    // Byte for byte as Determined stores it (many 64 KiB chunks and a partial one, through one reused buffer).
    const stored = h.determined!.store.checkpoint(version.checkpointUuid)!;
    const original = fs.readFileSync(path.join(h.determined!.stateDir, stored.dir, 'state_dict.pth'));
    const file = await pachd.getFile(output.repo, published.outputCommit, '/checkpoint/state_dict.pth');
    expect(file.length).toBe(3 * 1024 * 1024 + 17);
    expect(file.equals(original)).toBe(true);
    expect((await pachd.getFile(output.repo, published.outputCommit, '/checkpoint/code/model_def.py')).length).toBe(0);

    const info = await run(h.activities, 'readModelInfo', { repo: output, commit: published.outputCommit });
    expect(info).toEqual({
      name: 'images',
      pipeline: 'images-model',
      repo: 'images',
      version: 'c'.repeat(32),
      registryVersion: 1,
      checkpointUuid: version.checkpointUuid,
      experimentId: version.experimentId,
      inputCommit: 'c'.repeat(32),
      baseCommit: 'b'.repeat(32),
      metric: 0.25,
      searcherMetric: 'validation_loss',
      smallerIsBetter: true,
    });

    const again = await run(h.activities, 'publishModel', publishInput(version));
    expect(again).toEqual({ ...published, created: false });
    expect((await outputCommits()).filter((c) => c.description?.includes('version=1 '))).toHaveLength(1);
  });

  test('a crash after StartCommit is finished cleanly by the next attempt (one commit, no stale files)', async () => {
    const version = await registeredVersion({ 'weights.bin': 1000 }, 2);
    // What a crashed attempt leaves: an open commit with the key and a partial upload.
    const open = await pachd.call<{ id: string }>('pfs_v2.API/StartCommit', {
      branch: { repo: repoMsg(output.repo), name: 'master' },
      description: 'ct-publish model=images version=2',
    });
    const ref = { repo: repoMsg(output.repo), id: open.id };
    await pachd.modifyFile([{ setCommit: ref }, { addFile: { path: '/checkpoint/partial.tmp', raw: Buffer.from('junk').toString('base64') } }]);

    const published = await run(h.activities, 'publishModel', publishInput(version));
    expect(published).toMatchObject({ outputCommit: open.id, created: true, files: 2, bytes: expect.any(Number) });
    await expect(pachd.getFile(output.repo, open.id, '/checkpoint/partial.tmp')).rejects.toThrow(/not found/);
    expect((await pachd.getFile(output.repo, open.id, '/checkpoint/weights.bin')).length).toBe(1000);
    expect((await outputCommits()).filter((c) => c.description?.startsWith('ct-publish model=images version=2'))).toHaveLength(1);
  });

  test('a 503 on FinishCommit is retryable and the retry leaves exactly one commit', async () => {
    const version = await registeredVersion({ 'weights.bin': 2000 }, 3);
    h.pachd!.faults.set({ rules: [{ route: 'FinishCommit', errorRate: 1, status: 503, times: 3 }] });
    await expectFailure(run(h.activities, 'publishModel', publishInput(version)), 'Unavailable', { nonRetryable: false, message: /FinishCommit/ });
    const published = await run(h.activities, 'publishModel', publishInput(version));
    expect(published.created).toBe(true);
    const mine = (await outputCommits()).filter((c) => c.description?.startsWith('ct-publish model=images version=3'));
    expect(mine).toHaveLength(1);
    expect((await run(h.activities, 'readModelInfo', { repo: output, commit: published.outputCommit })).registryVersion).toBe(3);
  });

  test('a checkpoint entry with `..` is a non-retryable UnsafePath and leaves no open commit', async () => {
    // The emulator stores checkpoints as files, so it cannot produce this archive: a proxy serves it.
    const proxy = await maliciousCheckpointProxy(h.determined!.url);
    try {
      const viaProxy = createActivities({ ...h.config, determined: { ...h.config.determined, url: proxy.url } });
      const version = await registeredVersion({ 'ok.bin': 10 }, 4);
      await expectFailure(run(viaProxy, 'publishModel', publishInput(version)), 'UnsafePath', { nonRetryable: true, message: /\.\.\/escape\.txt/ });
      const mine = (await outputCommits()).filter((c) => c.description?.startsWith('ct-publish model=images version=4'));
      expect(mine).toHaveLength(1);
      expect(mine[0].error).toMatch(/unsafe path/);
      // The branch is not blocked: the next publication starts a new commit.
      const next = await run(h.activities, 'publishModel', publishInput(version));
      expect(next.created).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  test('cancellation during the upload is honoured and closes the commit as failed, unblocking the branch', async () => {
    const version = await registeredVersion({ 'weights.bin': 5000 }, 5);
    h.pachd!.faults.set({ rules: [{ route: 'ModifyFile', hang: true, times: 1 }] });
    const { env, heartbeats } = mockEnv();
    const publishing = run(h.activities, 'publishModel', publishInput(version), env);
    await waitFor(async () => heartbeats.length > 0, 'the upload to start');
    env.cancel();
    await expect(publishing).rejects.toThrow(/CANCELLED/);
    h.pachd!.faults.clear();
    const mine = await waitFor(async () => {
      const commits = (await outputCommits()).filter((c) => c.description?.startsWith('ct-publish model=images version=5'));
      return commits.length === 1 && commits[0].finishing ? commits : null;
    }, 'the cancelled commit to be closed');
    expect(mine[0].error).toMatch(/CANCELLED/);
    const next = await run(h.activities, 'publishModel', publishInput(version));
    expect(next).toMatchObject({ created: true, files: 2 });
  });

  test('cancellation before the upload began (the checkpoint download hangs) also closes the started commit as failed', async () => {
    const version = await registeredVersion({ 'weights.bin': 1000 }, 6);
    h.determined!.faults.set({ rules: [{ route: '^GET /checkpoints/', hang: true, times: 1 }] });
    const { env, heartbeats } = mockEnv();
    const publishing = run(h.activities, 'publishModel', publishInput(version), env);
    // The commit is started (its heartbeat), and the download of the checkpoint hangs.
    await waitFor(async () => heartbeats.length > 0, 'the commit to be started');
    await new Promise((r) => setTimeout(r, 300));
    env.cancel();
    await expect(publishing).rejects.toThrow(/CANCELLED/);
    h.determined!.faults.clear();
    const mine = await waitFor(async () => {
      const commits = (await outputCommits()).filter((c) => c.description?.startsWith('ct-publish model=images version=6'));
      return commits.length === 1 && commits[0].finishing ? commits : null;
    }, 'the cancelled commit to be closed');
    expect(mine[0].error).toMatch(/CANCELLED/);
    expect(await run(h.activities, 'publishModel', publishInput(version))).toMatchObject({ created: true, files: 2 });
  });

  test('a cancelled upload reports the cancellation, even when its source (a download aborted by it) failed first', async () => {
    const client = new PachydermClient(h.config);
    // An open commit of a repo of its own (an open commit blocks its branch).
    const repo = repoOf('default', 'cancelled-upload');
    await client.createRepo(repo);
    const commit = await client.startCommit({ repo, name: 'master' }, 'test');
    const { env } = mockEnv();
    const uploading = env.run(() => {
      // The source reads a download that the same cancellation aborts; its listener is the older one, so
      // the source fails first, with axios' CanceledError, as the checkpoint download does.
      const signal = Context.current().cancellationSignal;
      const aborted = new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(Object.assign(new Error('canceled'), { name: 'CanceledError', code: 'ERR_CANCELED' })), { once: true }),
      );
      async function* messages() {
        yield { setCommit: { repo, id: commit.id } };
        await aborted;
      }
      return client.modifyFile(messages());
    });
    await new Promise((r) => setTimeout(r, 100));
    env.cancel();
    await expect(uploading).rejects.toBeInstanceOf(CancelledFailure);
    await client.finishCommit({ repo, id: commit.id });
  });

  test("run in a trace, the output commit's description names it: the watcher hands it on, and the rollout joins the trace", async () => {
    const version = await registeredVersion({ 'weights.bin': 100 }, 7);
    // What the worker sets up when tracing is on: the activity runs under the span its interceptor opens.
    const tracing = createTracing(new SimpleSpanProcessor(new InMemorySpanExporter()), true);
    const published = await tracing.tracer.startActiveSpan('RunActivity:publishModel', async (span) => {
      try {
        return { result: await run(h.activities, 'publishModel', publishInput(version)), traceParent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01` };
      } finally {
        span.end();
      }
    });
    const [commit] = (await outputCommits()).filter((c) => c.commit.id === published.result.outputCommit);
    expect(commit.description?.startsWith(`${publishKey(version)} files=`)).toBe(true);
    expect(commit.description).toMatch(new RegExp(` bytes=\\d+ trace=${published.traceParent}$`));
    await tracing.shutdown();
  });

  test('a missing, malformed or incomplete model-info.yaml is a non-retryable InvalidModelInfo', async () => {
    const empty = await put({ '/other.txt': 'x' }, [], 'not-a-model');
    await expectFailure(run(h.activities, 'readModelInfo', { repo: { ...output, repo: 'not-a-model' }, commit: empty }), 'InvalidModelInfo', {
      nonRetryable: true,
      message: /does not exist/,
    });
    const malformed = await put({ '/model-info.yaml': 'name: [unclosed' }, [], 'not-a-model');
    await expectFailure(run(h.activities, 'readModelInfo', { repo: { ...output, repo: 'not-a-model' }, commit: malformed }), 'InvalidModelInfo', {
      nonRetryable: true,
      message: /not valid YAML/,
    });
    // The original's four fields only: the registry facts are missing.
    const old = await put({ '/model-info.yaml': yaml.dump({ name: 'm', pipeline: 'p', repo: 'r', version: 'v' }) }, [], 'not-a-model');
    await expectFailure(run(h.activities, 'readModelInfo', { repo: { ...output, repo: 'not-a-model' }, commit: old }), 'InvalidModelInfo', {
      nonRetryable: true,
      message: /registryVersion.*checkpointUuid.*experimentId/,
    });
  });
});

/** Forwards everything to Determined, except checkpoint downloads, answered with a tar holding `../escape.txt`. */
async function maliciousCheckpointProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/checkpoints/')) {
      const pack = tar.pack();
      pack.entry({ name: 'fine.txt' }, 'fine');
      pack.entry({ name: '../escape.txt' }, 'evil');
      pack.finalize();
      res.writeHead(200, { 'content-type': 'application/x-tar' });
      pack.pipe(res);
      return;
    }
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
