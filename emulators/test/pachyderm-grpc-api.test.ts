// The pachd emulator's gRPC port from a plain @grpc/grpc-js client built from the real protos:
// streams (ModifyFile, SubscribeCommit, DiffFile, GetFile), status codes, auth metadata, and the
// same answers as the REST gateway (one core behind both).
import * as grpc from '@grpc/grpc-js';
import { startPachydermEmulator, loadPachdProtos, type PachydermEmulator } from '../pachyderm';
import { PachdRestClient } from '../pachyderm/client';
import { durationFromJson, durationToJson, timestampFromJson, timestampToJson } from '../pachyderm/grpc-codec';

type Obj = Record<string, unknown>;
type Timestamp = { seconds: string; nanos?: number };
type CommitInfo = { commit: { id: string; branch?: { name: string } }; parentCommit?: { id: string }; finished?: Timestamp; started?: Timestamp; origin: { kind: string }; description?: string; details?: { sizeBytes?: string } };
type FileInfo = { file: { path: string }; fileType: string; sizeBytes?: string };
type Diff = { newFile?: FileInfo; oldFile?: FileInfo };

const TOKEN = 'grpc-api-token';
const repo = (name: string) => ({ name, type: 'user', project: { name: 'default' } });
const branchCommit = (r: string, branch = 'master') => ({ branch: { repo: repo(r), name: branch } });
const commitId = (r: string, id: string) => ({ repo: repo(r), id });

/** A minimal typed client over the loaded package definition. */
class PachdGrpc {
  private readonly client: grpc.Client;
  constructor(
    address: string,
    private readonly token: string | undefined,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }
  private method(name: string): grpc.MethodDefinition<Obj, Obj> {
    const [service, rpc] = name.split('/');
    return (loadPachdProtos().definition[service] as grpc.ServiceDefinition)[rpc] as grpc.MethodDefinition<Obj, Obj>;
  }
  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token !== undefined) md.set('authn-token', this.token);
    return md;
  }
  unary<T = Obj>(name: string, req: Obj): Promise<T> {
    const m = this.method(name);
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, this.metadata(), (err, res) => (err ? reject(err) : resolve(res as T))),
    );
  }
  stream(name: string, req: Obj): grpc.ClientReadableStream<Obj> {
    const m = this.method(name);
    return this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, req, this.metadata());
  }
  async list<T = Obj>(name: string, req: Obj): Promise<T[]> {
    const out: T[] = [];
    for await (const msg of this.stream(name, req)) out.push(msg as T);
    return out;
  }
  /** ModifyFile: a client stream of ModifyFileRequest messages. */
  modifyFile(messages: Obj[]): Promise<Obj> {
    const m = this.method('pfs_v2.API/ModifyFile');
    return new Promise((resolve, reject) => {
      const call = this.client.makeClientStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, this.metadata(), (err, res) => (err ? reject(err) : resolve(res as Obj)));
      for (const msg of messages) call.write(msg);
      call.end();
    });
  }
  close(): void {
    this.client.close();
  }
}

async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  return err as grpc.ServiceError;
}

const put = (r: string, files: Record<string, string | Buffer>, del: string[] = []) => [
  { setCommit: branchCommit(r) },
  ...del.map((p) => ({ deleteFile: { path: p } })),
  ...Object.entries(files).map(([p, c]) => ({ addFile: { path: p, raw: { value: Buffer.from(c) } } })),
];

let emu: PachydermEmulator;
let pach: PachdGrpc;
let rest: PachdRestClient;

beforeAll(async () => {
  emu = await startPachydermEmulator({ authToken: TOKEN });
  pach = new PachdGrpc(emu.grpcAddress, TOKEN);
  rest = new PachdRestClient({ url: emu.url, authToken: TOKEN });
});
afterAll(async () => {
  pach.close();
  await emu.close();
});

test('auth: GetVersion needs no token; missing and wrong tokens are UNAUTHENTICATED with pachd messages', async () => {
  const anonymous = new PachdGrpc(emu.grpcAddress, undefined);
  const wrong = new PachdGrpc(emu.grpcAddress, 'nope');
  try {
    expect(await anonymous.unary('versionpb_v2.API/GetVersion', {})).toMatchObject({ major: 2, minor: 12, additional: '-emulator' });
    const missing = await grpcError(anonymous.unary('pfs_v2.API/ListRepo', {}));
    expect(missing.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(missing.details).toBe('no authentication token (try logging in)');
    // A server stream fails the same way, before any message.
    const bad = await grpcError(wrong.list('pfs_v2.API/ListRepo', {}));
    expect(bad.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(bad.details).toBe('provided auth token is corrupted or has expired (try logging in again)');
    expect((await grpcError(wrong.modifyFile(put('x', { '/a': 'b' })))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await pach.unary('auth_v2.API/WhoAmI', {})).toEqual({ username: 'pach:root' });
  } finally {
    anonymous.close();
    wrong.close();
  }
});

test('errors keep their codes: NOT_FOUND, ALREADY_EXISTS, UNKNOWN, INVALID_ARGUMENT, UNIMPLEMENTED', async () => {
  const missing = await grpcError(pach.unary('pfs_v2.API/InspectRepo', { repo: repo('absent') }));
  expect(missing.code).toBe(grpc.status.NOT_FOUND);
  // The REST gateway answers the same message for the same request.
  const restErr = await rest.call('pfs_v2.API/InspectRepo', { repo: repo('absent') }).catch((e: Error) => e);
  expect((restErr as Error).message).toContain(missing.details);

  await pach.unary('pfs_v2.API/CreateRepo', { repo: repo('errs') });
  expect((await grpcError(pach.unary('pfs_v2.API/CreateRepo', { repo: repo('errs') }))).code).toBe(grpc.status.ALREADY_EXISTS);
  await pach.unary('pfs_v2.API/StartCommit', { branch: { repo: repo('errs'), name: 'master' } });
  const open = await grpcError(pach.unary('pfs_v2.API/StartCommit', { branch: { repo: repo('errs'), name: 'master' } }));
  expect(open.code).toBe(grpc.status.UNKNOWN);
  expect(open.details).toMatch(/has not been finished/);
  expect((await grpcError(pach.unary('pfs_v2.API/InspectCommit', {}))).code).toBe(grpc.status.INVALID_ARGUMENT);
  expect((await grpcError(pach.unary('pfs_v2.API/SquashCommitSet', { commitSet: { id: 'x' } }))).code).toBe(grpc.status.UNIMPLEMENTED);
});

test('ModifyFile, InspectCommit wait FINISHED, ListFile, GetFile in chunks, GlobFile, WalkFile; REST sees the same', async () => {
  await pach.unary('pfs_v2.API/CreateRepo', { repo: repo('data'), description: 'over gRPC' });
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
  await pach.modifyFile(put('data', { '/a.txt': 'alpha', '/dir/b.txt': 'beta', '/big.bin': big }));
  const head = await pach.unary<{ head: { id: string } }>('pfs_v2.API/InspectBranch', { branch: { repo: repo('data'), name: 'master' } });
  const info = await pach.unary<CommitInfo>('pfs_v2.API/InspectCommit', { commit: commitId('data', head.head.id), wait: 'FINISHED' });
  expect(info.finished).toBeDefined();
  expect(info.origin.kind).toBe('USER');
  expect(Number(info.details?.sizeBytes)).toBe(5 + 4 + big.length);

  // Timestamps are real google.protobuf.Timestamps, equal to the REST gateway's RFC 3339 strings.
  const viaRest = await rest.call<{ finished: string; started: string }>('pfs_v2.API/InspectCommit', { commit: commitId('data', head.head.id) });
  expect(timestampToJson(info.finished as Timestamp)).toBe(viaRest.finished);
  expect(new Date(viaRest.started).getTime()).toBe(Number(info.started?.seconds) * 1000 + Math.floor((info.started?.nanos ?? 0) / 1e6));

  const files = await pach.list<FileInfo>('pfs_v2.API/ListFile', { file: { commit: branchCommit('data'), path: '/' } });
  expect(files.map((f) => [f.file.path, f.fileType])).toEqual([
    ['/a.txt', 'FILE'],
    ['/big.bin', 'FILE'],
    ['/dir/', 'DIR'],
  ]);
  const chunks = await pach.list<{ value: string }>('pfs_v2.API/GetFile', { file: { commit: branchCommit('data'), path: '/big.bin' } });
  expect(chunks.length).toBeGreaterThan(1);
  const content = Buffer.concat(chunks.map((c) => Buffer.from(c.value, 'base64')));
  expect(content.equals(big)).toBe(true);
  const glob = await pach.list<FileInfo>('pfs_v2.API/GlobFile', { commit: branchCommit('data'), pattern: '/**.txt' });
  expect(glob.map((f) => f.file.path)).toEqual(['/a.txt', '/dir/b.txt']);
  const walk = await pach.list<FileInfo>('pfs_v2.API/WalkFile', { file: { commit: branchCommit('data'), path: '/dir' } });
  expect(walk.map((f) => f.file.path)).toEqual(['/dir/', '/dir/b.txt']);
  expect((await rest.download('data', 'master', '/dir/b.txt')).toString()).toBe('beta');
});

test('DiffFile streams added, modified and deleted paths against the parent', async () => {
  await pach.unary('pfs_v2.API/CreateRepo', { repo: repo('diffs') });
  await pach.modifyFile(put('diffs', { '/keep': 'k', '/change': '1', '/gone': 'g' }));
  await pach.modifyFile(put('diffs', { '/change': '2', '/new': 'n' }, ['/change', '/gone']));
  const head = await pach.unary<CommitInfo>('pfs_v2.API/InspectCommit', { commit: branchCommit('diffs'), wait: 'FINISHED' });
  const diffs = await pach.list<Diff>('pfs_v2.API/DiffFile', { newFile: { commit: commitId('diffs', head.commit.id), path: '/' } });
  const kinds = diffs.map((d) => [d.newFile && d.oldFile ? 'modified' : d.newFile ? 'added' : 'deleted', (d.newFile ?? d.oldFile)?.file.path]);
  expect(kinds).toEqual([
    ['modified', '/'],
    ['modified', '/change'],
    ['deleted', '/gone'],
    ['added', '/new'],
  ]);
});

test('SubscribeCommit replays, then streams new commits until the client cancels', async () => {
  await pach.unary('pfs_v2.API/CreateRepo', { repo: repo('subs') });
  await pach.modifyFile(put('subs', { '/1': 'one' }));
  const listeners = emu.store.events.listenerCount('commit');
  const stream = pach.stream('pfs_v2.API/SubscribeCommit', { repo: repo('subs'), branch: 'master', state: 'FINISHED' });
  const seen: CommitInfo[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  const got = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (seen.length >= n) {
          stream.off('data', onData);
          resolve();
        }
      };
      const onData = (msg: CommitInfo) => {
        seen.push(msg);
        check();
      };
      stream.on('data', onData);
      check();
    });
  await got(1);
  await pach.modifyFile(put('subs', { '/2': 'two' }));
  await got(2);
  expect(seen.map((c) => c.finished !== undefined)).toEqual([true, true]);
  expect(seen[1].parentCommit?.id).toBe(seen[0].commit.id);
  stream.on('error', () => undefined); // the cancellation surfaces as an error event
  stream.cancel();
  expect((await ended).code).toBe(grpc.status.CANCELLED);
  // The server side unsubscribes once it sees the cancellation (bounded by the test timeout).
  while (emu.store.events.listenerCount('commit') !== listeners) await new Promise((r) => setTimeout(r, 10));
});

test('close() ends open streams and stops the gRPC port', async () => {
  const own = await startPachydermEmulator();
  const client = new PachdGrpc(own.grpcAddress, undefined);
  try {
    await client.unary('pfs_v2.API/CreateRepo', { repo: repo('r') });
    const stream = client.stream('pfs_v2.API/SubscribeCommit', { repo: repo('r'), branch: 'master' });
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => stream.on('status', () => resolve()));
    await own.close();
    await ended;
    const after = await grpcError(client.unary('versionpb_v2.API/GetVersion', {}));
    expect(after.code).toBe(grpc.status.UNAVAILABLE);
  } finally {
    client.close();
  }
});

test('well-known types transcode as protojson writes them', () => {
  expect(timestampToJson({ seconds: '1700000000', nanos: 0 })).toBe('2023-11-14T22:13:20Z');
  expect(timestampToJson({ seconds: '1700000000', nanos: 120_000_000 })).toBe('2023-11-14T22:13:20.120Z');
  expect(timestampToJson({ seconds: '1700000000', nanos: 5 })).toBe('2023-11-14T22:13:20.000000005Z');
  expect(timestampFromJson('2023-11-14T22:13:20.120Z')).toEqual({ seconds: '1700000000', nanos: 120_000_000 });
  expect(timestampFromJson('2023-11-14T23:13:20+01:00')).toEqual({ seconds: '1700000000', nanos: 0 });
  expect(() => timestampFromJson('yesterday')).toThrow(/Timestamp/);
  expect(durationToJson({ seconds: '0', nanos: 0 })).toBe('0s');
  expect(durationToJson({ seconds: '1', nanos: 500_000_000 })).toBe('1.500s');
  expect(durationFromJson('1.5s')).toEqual({ seconds: '1', nanos: 500_000_000 });
  expect(durationFromJson('-0.5s')).toEqual({ seconds: '0', nanos: -500_000_000 });
});
