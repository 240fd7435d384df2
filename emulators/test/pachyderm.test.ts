// The pachd emulator's REST gateway: real HTTP on 127.0.0.1, every request and answer checked
// against pachd's committed swagger (PachdRestClient with contractCheck).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startPachydermEmulator, type PachydermEmulator } from '../pachyderm';
import { PachdError, PachdRestClient, commitOf, putFiles, type Json } from '../pachyderm/client';
import { pachydermContract } from '../pachyderm/contract';

type CommitInfo = { commit: { id: string; branch: { name: string } | null }; parentCommit: { id: string } | null; childCommits: { id: string }[]; finished: string | null; finishing: string | null; origin: { kind: string }; description: string; sizeBytesUpperBound: string };
type FileInfo = { file: { path: string; commit: { id: string } }; fileType: string; sizeBytes: string; hash: string };
type Diff = { newFile: FileInfo | null; oldFile: FileInfo | null };

const repo = (name: string) => ({ name, type: 'user', project: { name: 'default' } });

let emu: PachydermEmulator;
let client: PachdRestClient;

beforeAll(async () => {
  emu = await startPachydermEmulator();
  client = new PachdRestClient({ url: emu.url, contractCheck: true });
});
afterAll(async () => {
  await emu.close();
});

async function expectPachdError(p: Promise<unknown>, code: number, httpStatus: number, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PachdError);
  expect((err as PachdError).code).toBe(code);
  expect((err as PachdError).httpStatus).toBe(httpStatus);
  expect((err as PachdError).message).toMatch(message);
}

function raw(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(emu.url + path, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const diffOf = async (repoName: string, id: string, extra: Json = {}) =>
  (await client.list<Diff>('pfs_v2.API/DiffFile', { newFile: { commit: commitOf(repoName, id), path: '/' }, ...extra })).map((d) => [
    d.newFile && d.oldFile ? 'modified' : d.newFile ? 'added' : 'deleted',
    (d.newFile ?? d.oldFile)?.file.path,
    (d.newFile ?? d.oldFile)?.fileType,
  ]);

describe('repos', () => {
  test('create, inspect, list, duplicate, invalid name, delete', async () => {
    await client.call('pfs_v2.API/CreateRepo', { repo: repo('r1'), description: 'first' });
    const info = await client.call<{ repo: Json; description: string; sizeBytesUpperBound: string }>('pfs_v2.API/InspectRepo', { repo: repo('r1') });
    expect(info.repo).toEqual(repo('r1'));
    expect(info.description).toBe('first');
    await expectPachdError(client.call('pfs_v2.API/CreateRepo', { repo: repo('r1') }), 6, 409, /^repo default\/r1 already exists$/);
    await client.call('pfs_v2.API/CreateRepo', { repo: repo('r1'), description: 'updated', update: true });
    expect((await client.call<{ description: string }>('pfs_v2.API/InspectRepo', { repo: repo('r1') })).description).toBe('updated');
    // pachd answers a bad name with code Unknown (checked against real pachd in stack/test/real-pachd/conformance.test.ts).
    await expectPachdError(client.call('pfs_v2.API/CreateRepo', { repo: repo('bad name!') }), 2, 500, /^name \(bad name!\) invalid: only alphanumeric/);
    const names = (await client.list<{ repo: { name: string } }>('pfs_v2.API/ListRepo', {})).map((r) => r.repo.name);
    expect(names).toContain('r1');
    expect(await client.call('pfs_v2.API/DeleteRepo', { repo: repo('r1') })).toEqual({ deleted: true });
    // A missing repo is not an error, with or without force (pachd's deleteRepo answers deleted=false).
    expect(await client.call('pfs_v2.API/DeleteRepo', { repo: repo('r1') })).toEqual({ deleted: false });
    expect(await client.call('pfs_v2.API/DeleteRepo', { repo: repo('never'), force: true })).toEqual({ deleted: false });
    await expectPachdError(client.call('pfs_v2.API/InspectRepo', { repo: repo('r1') }), 5, 404, /^repo default\/r1 not found$/);
    await expectPachdError(client.call('pfs_v2.API/InspectRepo', { repo: { name: 'x', project: { name: 'other' } } }), 5, 404, /project "other" not found/);
  });
});

describe('commits and branches', () => {
  test('start, finish, parents, branch head, open-head conflict, wait', async () => {
    await client.call('pfs_v2.API/CreateRepo', { repo: repo('c1') });
    const first = await client.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repo('c1'), name: 'master' }, description: 'one' });
    expect(first.id).toMatch(/^[0-9a-f]{32}$/);
    const open = await client.call<CommitInfo>('pfs_v2.API/InspectCommit', { commit: commitOf('c1', 'master') });
    expect(open.commit.id).toBe(first.id);
    expect(open.finished).toBeNull();
    expect(open.origin.kind).toBe('USER');
    expect(open.description).toBe('one');
    // pachd refuses a new commit on a branch whose head is still open (plain error: code Unknown).
    await expectPachdError(
      client.call('pfs_v2.API/StartCommit', { branch: { repo: repo('c1'), name: 'master' } }),
      2,
      500,
      new RegExp(`^start commit in transaction: create commit: parent commit default/c1@${first.id} has not been finished$`),
    );
    // InspectCommit with wait blocks until the commit finishes.
    let waited: CommitInfo | undefined;
    const waiting = client.call<CommitInfo>('pfs_v2.API/InspectCommit', { commit: commitOf('c1', first.id), wait: 'FINISHED' }).then((c) => (waited = c));
    await new Promise((r) => setTimeout(r, 50));
    expect(waited).toBeUndefined();
    await client.call('pfs_v2.API/FinishCommit', { commit: commitOf('c1', first.id) });
    await waiting;
    expect(waited?.finished).toEqual(expect.any(String));
    expect(waited?.finishing).toEqual(expect.any(String));
    await expectPachdError(client.call('pfs_v2.API/FinishCommit', { commit: commitOf('c1', first.id) }), 2, 500, /has already finished/);

    const second = await client.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repo('c1'), name: 'master' } });
    await client.call('pfs_v2.API/FinishCommit', { commit: commitOf('c1', second.id), description: 'two' });
    const info = await client.call<CommitInfo>('pfs_v2.API/InspectCommit', { commit: commitOf('c1', second.id), wait: 'FINISHED' });
    expect(info.parentCommit?.id).toBe(first.id);
    expect(info.description).toBe('two');
    const parent = await client.call<CommitInfo>('pfs_v2.API/InspectCommit', { commit: { repo: repo('c1'), id: 'master^' } });
    expect(parent.commit.id).toBe(first.id);
    expect(parent.childCommits.map((c) => c.id)).toEqual([second.id]);

    const listed = await client.list<CommitInfo>('pfs_v2.API/ListCommit', { repo: repo('c1') });
    expect(listed.map((c) => c.commit.id)).toEqual([second.id, first.id]);
    const oldestFirst = await client.list<CommitInfo>('pfs_v2.API/ListCommit', { repo: repo('c1'), reverse: true, number: '1' });
    expect(oldestFirst.map((c) => c.commit.id)).toEqual([first.id]);

    await client.call('pfs_v2.API/CreateBranch', { branch: { repo: repo('c1'), name: 'stable' }, head: commitOf('c1', first.id) });
    const b = await client.call<{ head: { id: string } }>('pfs_v2.API/InspectBranch', { branch: { repo: repo('c1'), name: 'stable' } });
    expect(b.head.id).toBe(first.id);
    const branches = (await client.list<{ branch: { name: string } }>('pfs_v2.API/ListBranch', { repo: repo('c1') })).map((x) => x.branch.name);
    expect(branches.sort()).toEqual(['master', 'stable']);
    await expectPachdError(client.call('pfs_v2.API/InspectBranch', { branch: { repo: repo('c1'), name: 'nope' } }), 5, 404, /branch "nope" not found in repo default\/c1/);
    await expectPachdError(client.call('pfs_v2.API/InspectCommit', { commit: commitOf('c1', 'f'.repeat(32)) }), 5, 404, /not found/);
  });
});

describe('files', () => {
  let c1: string;
  let c2: string;
  beforeAll(async () => {
    c1 = await putFiles({ url: emu.url, contractCheck: true }, 'f1', 'master', { '/a.txt': 'alpha', '/dir/b.txt': 'bravo', '/dir/c.txt': 'charlie', '/dir/sub/d.txt': 'delta', '/z.txt': 'zulu' });
    c2 = await putFiles({ url: emu.url, contractCheck: true }, 'f1', 'master', { '/a.txt': 'ALPHA', '/dir/e.txt': 'echo' }, { deletes: ['/dir/c.txt', '/z.txt'] });
  });

  test('GetFile, offsets, globs, downloads, errors', async () => {
    expect((await client.getFile('f1', c1, '/a.txt')).toString()).toBe('alpha');
    expect((await client.getFile('f1', 'master', '/a.txt')).toString()).toBe('ALPHA');
    const tail = await client.list<string>('pfs_v2.API/GetFile', { file: { commit: commitOf('f1', c1), path: '/dir/c.txt' }, offset: '3' });
    expect(Buffer.concat(tail.map((b) => Buffer.from(b, 'base64'))).toString()).toBe('rlie');
    expect((await client.getFile('f1', 'master', '/dir/e*')).toString()).toBe('echo');
    expect((await client.download('f1', 'master', '/dir/sub/d.txt')).toString()).toBe('delta');
    expect((await client.download('f1', c1, '/z.txt')).toString()).toBe('zulu');
    await expectPachdError(client.getFile('f1', 'master', '/z.txt'), 5, 404, new RegExp(`^file /z.txt not found in repo default/f1 at commit ${c2}$`));
    await expectPachdError(client.getFile('f1', 'master', '/dir'), 2, 500, /cannot get directory/);
    await expectPachdError(client.getFile('f1', 'master', '/dir/*.txt'), 2, 500, /matched multiple files/);
    const missing = await raw('GET', '/pfs/default/f1/master/nope.txt');
    expect(missing.status).toBe(404);
    expect(missing.text).toMatch(/^problem inspecting file: rpc error: code = NotFound desc = file nope.txt not found/);
  });

  test('InspectFile, ListFile, WalkFile, GlobFile', async () => {
    const a = await client.call<FileInfo>('pfs_v2.API/InspectFile', { file: { commit: commitOf('f1', 'master'), path: 'a.txt' } });
    expect(a).toMatchObject({ fileType: 'FILE', sizeBytes: '5', file: { path: '/a.txt' } });
    const dir = await client.call<FileInfo>('pfs_v2.API/InspectFile', { file: { commit: commitOf('f1', 'master'), path: '/dir' } });
    expect(dir).toMatchObject({ fileType: 'DIR', sizeBytes: String('bravo'.length + 'delta'.length + 'echo'.length), file: { path: '/dir/' } });
    const list = await client.list<FileInfo>('pfs_v2.API/ListFile', { file: { commit: commitOf('f1', 'master'), path: '/dir' } });
    expect(list.map((f) => [f.file.path, f.fileType])).toEqual([
      ['/dir/b.txt', 'FILE'],
      ['/dir/e.txt', 'FILE'],
      ['/dir/sub/', 'DIR'],
    ]);
    const root = await client.list<FileInfo>('pfs_v2.API/ListFile', { file: { commit: commitOf('f1', c1), path: '/' } });
    expect(root.map((f) => f.file.path)).toEqual(['/a.txt', '/dir/', '/z.txt']);
    const walk = await client.list<FileInfo>('pfs_v2.API/WalkFile', { file: { commit: commitOf('f1', 'master'), path: '/dir' } });
    expect(walk.map((f) => f.file.path)).toEqual(['/dir/', '/dir/b.txt', '/dir/e.txt', '/dir/sub/', '/dir/sub/d.txt']);
    const glob = await client.list<FileInfo>('pfs_v2.API/GlobFile', { commit: commitOf('f1', 'master'), pattern: '/dir/*' });
    expect(glob.map((f) => f.file.path)).toEqual(['/dir/b.txt', '/dir/e.txt', '/dir/sub/']);
    const deep = await client.list<FileInfo>('pfs_v2.API/GlobFile', { commit: commitOf('f1', 'master'), pattern: '/**/*.txt' });
    expect(deep.map((f) => f.file.path)).toEqual(['/a.txt', '/dir/b.txt', '/dir/e.txt', '/dir/sub/d.txt']);
    // pachd trims trailing slashes before matching: the root becomes "" and only the glob "/" matches it.
    const globbed = async (pattern: string) =>
      (await client.list<FileInfo>('pfs_v2.API/GlobFile', { commit: commitOf('f1', 'master'), pattern })).map((f) => f.file.path);
    const top = (await client.list<FileInfo>('pfs_v2.API/ListFile', { file: { commit: commitOf('f1', 'master'), path: '/' } })).map((f) => f.file.path);
    expect(await globbed('/*')).toEqual(top);
    expect(await globbed('*')).toEqual(top);
    const everything = (await client.list<FileInfo>('pfs_v2.API/WalkFile', { file: { commit: commitOf('f1', 'master'), path: '/' } })).map((f) => f.file.path);
    expect(everything[0]).toBe('/');
    expect(await globbed('/**')).toEqual(everything.slice(1));
    expect(await globbed('/')).toEqual(['/']);
    await expectPachdError(client.call('pfs_v2.API/InspectFile', { file: { commit: commitOf('f1', 'master'), path: '/nope' } }), 5, 404, /not found/);
  });

  test('DiffFile against the parent: added, deleted, modified, directories, path order', async () => {
    expect(await diffOf('f1', c2)).toEqual([
      ['modified', '/', 'DIR'],
      ['modified', '/a.txt', 'FILE'],
      ['modified', '/dir/', 'DIR'],
      ['deleted', '/dir/c.txt', 'FILE'],
      ['added', '/dir/e.txt', 'FILE'],
      ['deleted', '/z.txt', 'FILE'],
    ]);
    // The first commit has no parent: everything is added, directories included.
    expect(await diffOf('f1', c1)).toEqual([
      ['added', '/', 'DIR'],
      ['added', '/a.txt', 'FILE'],
      ['added', '/dir/', 'DIR'],
      ['added', '/dir/b.txt', 'FILE'],
      ['added', '/dir/c.txt', 'FILE'],
      ['added', '/dir/sub/', 'DIR'],
      ['added', '/dir/sub/d.txt', 'FILE'],
      ['added', '/z.txt', 'FILE'],
    ]);
  });

  test('DiffFile with oldFile, a sub path, and shallow', async () => {
    // Reversed direction: old = c2, new = c1.
    expect(await diffOf('f1', c1, { oldFile: { commit: commitOf('f1', c2), path: '/' } })).toEqual([
      ['modified', '/', 'DIR'],
      ['modified', '/a.txt', 'FILE'],
      ['modified', '/dir/', 'DIR'],
      ['added', '/dir/c.txt', 'FILE'],
      ['deleted', '/dir/e.txt', 'FILE'],
      ['added', '/z.txt', 'FILE'],
    ]);
    const sub = await client.list<Diff>('pfs_v2.API/DiffFile', { newFile: { commit: commitOf('f1', c2), path: '/dir' } });
    expect(sub.map((d) => (d.newFile ?? d.oldFile)?.file.path)).toEqual(['/dir/', '/dir/c.txt', '/dir/e.txt']);
    const shallow = await client.list<Diff>('pfs_v2.API/DiffFile', { newFile: { commit: commitOf('f1', c2), path: '/' }, shallow: true });
    expect(shallow.map((d) => (d.newFile ?? d.oldFile)?.file.path)).toEqual(['/', '/a.txt', '/dir/', '/z.txt']);
    // Identical commits diff to nothing.
    expect(await client.list('pfs_v2.API/DiffFile', { newFile: { commit: commitOf('f1', c2), path: '/' }, oldFile: { commit: commitOf('f1', c2), path: '/' } })).toEqual([]);
  });

  test('hashes depend on content only', async () => {
    const other = await putFiles(emu.url, 'f2', 'main', { '/copy/a.txt': 'alpha' });
    const x = await client.call<FileInfo>('pfs_v2.API/InspectFile', { file: { commit: commitOf('f1', c1), path: '/a.txt' } });
    const y = await client.call<FileInfo>('pfs_v2.API/InspectFile', { file: { commit: commitOf('f2', other), path: '/copy/a.txt' } });
    expect(y.hash).toBe(x.hash);
    const z = await client.call<FileInfo>('pfs_v2.API/InspectFile', { file: { commit: commitOf('f1', c2), path: '/a.txt' } });
    expect(z.hash).not.toBe(x.hash);
  });
});

describe('ModifyFile', () => {
  const setCommit = (id: string) => ({ setCommit: commitOf('m1', id) });
  const add = (p: string, text: string) => ({ addFile: { path: p, raw: Buffer.from(text).toString('base64') } });

  test('addFile appends, deleteFile then addFile overwrites, copyFile, url, atomicity', async () => {
    await client.call('pfs_v2.API/CreateRepo', { repo: repo('m1') });
    const { id } = await client.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repo('m1'), name: 'master' } });
    await client.modifyFile([setCommit(id), add('/log.txt', 'a'), add('/log.txt', 'b'), add('/other.txt', 'x'), add('/log.txt', 'c')]);
    // A second call appends to what the commit already has.
    await client.modifyFile([setCommit(id), add('/log.txt', 'd'), { deleteFile: { path: '/other.txt' } }, add('/other.txt', 'y')]);
    // Reading an open commit sees its pending files.
    expect((await client.getFile('m1', id, '/log.txt')).toString()).toBe('abcd');

    const files = http.createServer((_req, res) => res.end('from-url')).listen(0, '127.0.0.1');
    await new Promise((r) => files.once('listening', r));
    const url = `http://127.0.0.1:${(files.address() as AddressInfo).port}/data.bin`;
    try {
      await client.modifyFile([setCommit(id), { addFile: { path: '/dir/fetched.bin', url: { URL: url } } }, { copyFile: { dst: '/copy.txt', src: { commit: commitOf('m1', id), path: '/log.txt' } } }]);
    } finally {
      files.close();
    }
    // A bad message fails the whole call: nothing of it is applied.
    // (sent without the contract check, which would refuse to send bad base64 at all)
    const unchecked = new PachdRestClient(emu.url);
    await expectPachdError(unchecked.modifyFile([setCommit(id), add('/never.txt', 'n'), { addFile: { path: '/x', raw: '!!not base64!!' } }]), 3, 400, /invalid base64/);
    await expectPachdError(client.modifyFile([add('/x', 'y')]), 2, 500, /^first message must be a commit$/);
    await client.call('pfs_v2.API/FinishCommit', { commit: commitOf('m1', id) });
    await client.call('pfs_v2.API/InspectCommit', { commit: commitOf('m1', id), wait: 'FINISHED' });

    const paths = (await client.list<FileInfo>('pfs_v2.API/WalkFile', { file: { commit: commitOf('m1', id), path: '/' } })).filter((f) => f.fileType === 'FILE').map((f) => f.file.path);
    expect(paths).toEqual(['/copy.txt', '/dir/fetched.bin', '/log.txt', '/other.txt']);
    expect((await client.getFile('m1', id, '/other.txt')).toString()).toBe('y');
    expect((await client.getFile('m1', id, '/copy.txt')).toString()).toBe('abcd');
    expect((await client.getFile('m1', id, '/dir/fetched.bin')).toString()).toBe('from-url');

    // Writing to a branch whose head is finished makes (and finishes) a one-off child commit.
    await client.modifyFile([{ setCommit: commitOf('m1', 'master') }, add('/log.txt', 'e')]);
    const head = await client.call<CommitInfo>('pfs_v2.API/InspectCommit', { commit: commitOf('m1', 'master'), wait: 'FINISHED' });
    expect(head.parentCommit?.id).toBe(id);
    expect((await client.getFile('m1', 'master', '/log.txt')).toString()).toBe('abcde');
    // ...but naming a finished commit by id is an error.
    await expectPachdError(client.modifyFile([setCommit(id), add('/y', 'y')]), 2, 500, /has already finished/);
  });
});

describe('SubscribeCommit', () => {
  test('replays in order, honours from and state, then streams new commits', async () => {
    const a = await putFiles(emu.url, 's1', 'master', { '/1': '1' });
    const b = await putFiles(emu.url, 's1', 'master', { '/2': '2' });
    await putFiles(emu.url, 's1', 'other', { '/x': 'x' });
    const abort = new AbortController();
    const seen: CommitInfo[] = [];
    let notify: () => void = () => undefined;
    const consume = (async () => {
      for await (const c of client.stream<CommitInfo>('pfs_v2.API/SubscribeCommit', { repo: repo('s1'), branch: 'master', from: commitOf('s1', a), state: 'FINISHED' }, abort.signal)) {
        seen.push(c);
        notify();
      }
    })();
    const until = async (n: number) => {
      while (seen.length < n) await new Promise<void>((r) => (notify = r));
    };
    await until(1);
    expect(seen.map((c) => c.commit.id)).toEqual([b]); // `a` suppressed, `other` branch filtered out
    // An open commit is held back until it finishes.
    const { id: c } = await client.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repo('s1'), name: 'master' } });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(1);
    await client.call('pfs_v2.API/FinishCommit', { commit: commitOf('s1', c) });
    await until(2);
    expect(seen[1].commit.id).toBe(c);
    expect(seen[1].finished).toEqual(expect.any(String));
    abort.abort();
    await consume;
  });
});

describe('errors, auth, faults, health', () => {
  test('grpc-gateway error shapes', async () => {
    const notFound = await raw('POST', '/api/nope.API/Nothing', '{}');
    expect(notFound.status).toBe(501);
    expect(JSON.parse(notFound.text)).toEqual({ code: 12, message: 'unknown method Nothing for service nope.API', details: [] });
    const badJson = await raw('POST', '/api/pfs_v2.API/InspectRepo', '{nope');
    expect(badJson.status).toBe(400);
    expect(pachydermContract().error(JSON.parse(badJson.text))).toEqual([]);
    expect(JSON.parse(badJson.text).code).toBe(3);
    // Enum names are spelled as pachd's swagger spells them: FINISHED, not COMMIT_STATE_FINISHED.
    expect(pachydermContract().request('pfs_v2.API/InspectCommit', { commit: commitOf('c1', 'master'), wait: 'COMMIT_STATE_FINISHED' })).not.toEqual([]);
    const badEnum = await raw('POST', '/api/pfs_v2.API/InspectCommit', JSON.stringify({ commit: commitOf('c1', 'master'), wait: 'COMMIT_STATE_FINISHED' }));
    expect(badEnum.status).toBe(400);
    expect(JSON.parse(badEnum.text).message).toMatch(/wait/);
    // A stream failing before its first message: mapped status and one error line.
    const streamErr = await raw('POST', '/api/pfs_v2.API/ListCommit', JSON.stringify({ repo: repo('does-not-exist') }));
    expect(streamErr.status).toBe(404);
    const line = JSON.parse(streamErr.text.trim());
    expect(pachydermContract().streamLine('pfs_v2.API/ListCommit', line)).toEqual([]);
    expect(line.error.code).toBe(5);
    const unknownPath = await raw('GET', '/api/nothing');
    expect(unknownPath.status).toBe(404);
    expect(JSON.parse(unknownPath.text)).toEqual({ code: 5, message: 'Not Found', details: [] });
  });

  test('healthz and WhoAmI without auth', async () => {
    const h = await raw('GET', '/healthz');
    expect([h.status, h.text]).toEqual([200, 'healthy\n']);
    await expectPachdError(client.call('auth_v2.API/WhoAmI', {}), 12, 501, /^the auth service is not activated$/);
  });

  test('fault injection on a streaming route', async () => {
    await raw('PUT', '/__emulator/faults', JSON.stringify({ rules: [{ route: 'DiffFile$', errorRate: 1, status: 503, times: 1 }] }));
    await expectPachdError(client.list('pfs_v2.API/DiffFile', { newFile: { commit: commitOf('f1', 'master'), path: '/' } }), 14, 503, /injected fault/);
    expect((await client.list('pfs_v2.API/DiffFile', { newFile: { commit: commitOf('f1', 'master'), path: '/' } })).length).toBeGreaterThan(0);
    await raw('DELETE', '/__emulator/faults');
  });

  test('auth: missing and wrong tokens get pachd errors, the right one works', async () => {
    const secured = await startPachydermEmulator({ authToken: 'secret-token' });
    try {
      const anon = new PachdRestClient({ url: secured.url, contractCheck: true });
      await expectPachdError(anon.list('pfs_v2.API/ListRepo', {}), 16, 401, /^no authentication token \(try logging in\)$/);
      const wrong = new PachdRestClient({ url: secured.url, authToken: 'nope', contractCheck: true });
      await expectPachdError(wrong.call('pfs_v2.API/InspectRepo', { repo: repo('a') }), 16, 401, /^provided auth token is corrupted or has expired/);
      const ok = { url: secured.url, authToken: 'secret-token', contractCheck: true };
      const id = await putFiles(ok, 'a', 'master', { '/f': 'data' });
      expect(await new PachdRestClient(ok).call('auth_v2.API/WhoAmI', {})).toMatchObject({ username: 'pach:root' });
      const denied = await new Promise<number>((resolve) =>
        http.get(`${secured.url}/pfs/default/a/${id}/f`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }),
      );
      expect(denied).toBe(401);
      const body = await new Promise<string>((resolve) =>
        http.get(`${secured.url}/pfs/default/a/${id}/f?authn-token=secret-token`, (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c));
          res.on('end', () => resolve(t));
        }),
      );
      expect(body).toBe('data');
    } finally {
      await secured.close();
    }
  });
});
