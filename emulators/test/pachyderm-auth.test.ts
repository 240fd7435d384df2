// pachd's auth as the emulator keeps it: the root token, robot tokens from GetRobotToken (with their
// expiry), role bindings on repos, and every pfs call and download authorised as pachd does it, with
// pachd's errors (src/auth/auth.go) and statuses. Every request and answer is checked against the swagger.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPachydermEmulator, type PachydermEmulator } from '../pachyderm';
import { PachdError, PachdRestClient, commitOf, putFiles, type Json } from '../pachyderm/client';

const ROOT = 'root-token';
const repo = (name: string) => ({ name, type: 'user', project: { name: 'default' } });
const repoResource = (name: string) => ({ type: 'REPO', name: `default/${name}` });
const denied = (subject: string, permissions: string, resource: string) =>
  `${subject} is not authorized to perform this operation - needs permissions [${permissions}] on ${resource}. Run \`pachctl auth roles-for-permission\` to find roles that grant a given permission.`;

let stateDir: string;
let emu: PachydermEmulator;
let root: PachdRestClient;
let inputCommit: string;

async function failure(p: Promise<unknown>): Promise<{ code: number; httpStatus: number; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PachdError)) throw new Error(`expected a PachdError, got ${String(err)}`);
  return { code: err.code, httpStatus: err.httpStatus, message: err.message };
}

async function robot(name: string, ttl: number, roles: string[] = [], repoName = 'input'): Promise<PachdRestClient> {
  const { token } = await root.call<{ token: string }>('auth_v2.API/GetRobotToken', { robot: name, ttl: String(ttl) });
  if (roles.length) await root.call('auth_v2.API/ModifyRoleBinding', { principal: `robot:${name}`, roles, resource: repoResource(repoName) });
  return new PachdRestClient({ url: emu.url, authToken: token, contractCheck: true });
}

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pachd-auth-'));
  emu = await startPachydermEmulator({ stateDir, authToken: ROOT });
  root = new PachdRestClient({ url: emu.url, authToken: ROOT, contractCheck: true });
  inputCommit = await putFiles({ url: emu.url, authToken: ROOT }, 'input', 'master', { '/a.txt': 'alpha', '/dir/b.txt': 'beta' });
  await putFiles({ url: emu.url, authToken: ROOT }, 'other', 'master', { '/secret.txt': 'not yours' });
});
afterAll(async () => {
  await emu?.close();
});

test('GetRobotToken: a 32-hex token for robot:<name>, WhoAmI tells its subject and expiry; ttl 0 never expires', async () => {
  expect(await root.call('auth_v2.API/WhoAmI', {})).toEqual({ username: 'pach:root', expiration: null });
  const before = Date.now();
  const { token } = await root.call<{ token: string }>('auth_v2.API/GetRobotToken', { robot: 'robot:reader', ttl: '600' });
  expect(token).toMatch(/^[0-9a-f]{32}$/);
  const who = await new PachdRestClient({ url: emu.url, authToken: token, contractCheck: true }).call<{ username: string; expiration: string }>('auth_v2.API/WhoAmI', {});
  expect(who.username).toBe('robot:reader'); // the redundant robot: prefix is stripped, as pachd does
  expect(Date.parse(who.expiration)).toBeGreaterThanOrEqual(before + 600_000 - 1000);
  expect(Date.parse(who.expiration)).toBeLessThanOrEqual(Date.now() + 600_000 + 1000);
  const forever = await robot('forever', 0);
  expect(await forever.call('auth_v2.API/WhoAmI', {})).toEqual({ username: 'robot:forever', expiration: null });
  expect(await failure(root.call('auth_v2.API/GetRobotToken', { robot: 'a:b' }))).toEqual({ code: 2, httpStatus: 500, message: "robot names cannot contain colons (':')" });
});

test('a robot without a role binding is refused on every repo with pachd PermissionDenied', async () => {
  const nobody = await robot('nobody', 600);
  const diff = nobody.list('pfs_v2.API/DiffFile', { newFile: { commit: commitOf('input', inputCommit), path: '/' } });
  expect(await failure(diff)).toEqual({ code: 7, httpStatus: 403, message: denied('robot:nobody', 'REPO_READ', 'REPO default/input') });
  // pachd's check on a repo that does not exist, for anyone but a cluster admin.
  expect(await failure(nobody.call('pfs_v2.API/InspectCommit', { commit: commitOf('missing', 'master') }))).toEqual({
    code: 2,
    httpStatus: 500,
    message: 'no role binding exists for REPO default/missing',
  });
  expect(await failure(root.call('pfs_v2.API/InspectCommit', { commit: commitOf('missing', 'master') }))).toMatchObject({ code: 5, httpStatus: 404 });
});

test('repoReader on one repo: every read there, no write, nothing on another repo, no minting, no binding changes', async () => {
  const reader = await robot('reader-1', 600, ['repoReader']);
  await root.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:reader-1', roles: ['repoReader'], resource: repoResource('input') }); // idempotent
  expect(await root.call('auth_v2.API/GetRoleBinding', { resource: repoResource('input') })).toEqual({
    binding: { entries: { 'pach:root': { roles: { repoOwner: true } }, 'robot:reader-1': { roles: { repoReader: true } } } },
  });

  const file = (p: string) => ({ commit: commitOf('input', inputCommit), path: p });
  expect(await reader.call('pfs_v2.API/InspectCommit', { commit: commitOf('input', 'master') })).toMatchObject({ commit: { id: inputCommit } });
  expect((await reader.list<Json>('pfs_v2.API/ListCommit', { repo: repo('input') })).length).toBe(1);
  expect((await reader.list<Json>('pfs_v2.API/DiffFile', { newFile: file('/') })).length).toBeGreaterThan(0);
  expect((await reader.list<Json>('pfs_v2.API/WalkFile', { file: file('/') })).length).toBe(4);
  expect((await reader.list<Json>('pfs_v2.API/GlobFile', { commit: commitOf('input', inputCommit), pattern: '/*' })).length).toBe(2);
  expect((await reader.list<Json>('pfs_v2.API/ListFile', { file: file('/dir') })).length).toBe(1);
  expect(await reader.call('pfs_v2.API/InspectFile', { file: file('/a.txt') })).toMatchObject({ sizeBytes: '5' });
  expect((await reader.getFile('input', inputCommit, '/dir/b.txt')).toString()).toBe('beta');
  expect((await reader.download('input', inputCommit, 'a.txt')).toString()).toBe('alpha');

  const write = (p: Promise<unknown>) => failure(p);
  const noWrite = { code: 7, httpStatus: 403, message: denied('robot:reader-1', 'REPO_WRITE', 'REPO default/input') };
  expect(await write(reader.call('pfs_v2.API/StartCommit', { branch: { repo: repo('input'), name: 'master' } }))).toEqual({ ...noWrite, message: `start commit in transaction: ${noWrite.message}` });
  const { id: open } = await root.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repo('input'), name: 'scratch' } });
  expect(await write(reader.modifyFile([{ setCommit: commitOf('input', open) }, { addFile: { path: '/x', raw: 'eA==' } }]))).toEqual(noWrite);
  expect(await write(reader.call('pfs_v2.API/FinishCommit', { commit: commitOf('input', open) }))).toEqual(noWrite);
  await root.call('pfs_v2.API/FinishCommit', { commit: commitOf('input', open) });
  expect(await write(reader.call('pfs_v2.API/DeleteRepo', { repo: repo('input') }))).toMatchObject({ code: 7, message: denied('robot:reader-1', 'REPO_DELETE', 'REPO default/input') });
  // As in pachd, every user may create repos in the default project (allClusterUsers is its projectWriter), and owns them.
  await reader.call('pfs_v2.API/CreateRepo', { repo: repo('mine') });
  expect(await root.call('auth_v2.API/GetRoleBinding', { resource: repoResource('mine') })).toEqual({ binding: { entries: { 'robot:reader-1': { roles: { repoOwner: true } } } } });

  const other = await failure(reader.list('pfs_v2.API/DiffFile', { newFile: { commit: commitOf('other', 'master'), path: '/' } }));
  expect(other).toEqual({ code: 7, httpStatus: 403, message: denied('robot:reader-1', 'REPO_READ', 'REPO default/other') });
  const otherDownload = await failure(reader.download('other', 'master', 'secret.txt'));
  expect(otherDownload.httpStatus).toBe(403);
  expect(otherDownload.message).toBe(`problem inspecting file: rpc error: code = PermissionDenied desc = ${denied('robot:reader-1', 'REPO_INSPECT_FILE', 'REPO default/other')}`);

  expect(await failure(reader.call('auth_v2.API/GetRobotToken', { robot: 'escalate', ttl: '0' }))).toEqual({
    code: 7,
    httpStatus: 403,
    message: denied('robot:reader-1', 'CLUSTER_AUTH_GET_ROBOT_TOKEN', 'CLUSTER '),
  });
  expect(await failure(reader.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:reader-1', roles: ['repoOwner'], resource: repoResource('input') }))).toMatchObject({
    code: 7,
    message: denied('robot:reader-1', 'REPO_MODIFY_BINDINGS', 'REPO default/input'),
  });

  // An empty role list removes the binding: the same token can no longer read.
  await root.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:reader-1', roles: [], resource: repoResource('input') });
  expect(await failure(reader.getFile('input', inputCommit, '/a.txt'))).toMatchObject({ code: 7, httpStatus: 403 });
});

test('repoWriter adds writes; robotUser on the cluster may mint; unknown roles and principals are refused', async () => {
  const writer = await robot('writer', 600, ['repoWriter']);
  const id = await putFiles({ url: emu.url, authToken: writer.authToken }, 'input', 'master', { '/c.txt': 'gamma' });
  expect((await root.getFile('input', id, '/c.txt')).toString()).toBe('gamma');

  const minter = await robot('minter', 600);
  await root.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:minter', roles: ['robotUser'], resource: { type: 'CLUSTER', name: '' } });
  expect(await minter.call<{ token: string }>('auth_v2.API/GetRobotToken', { robot: 'minted', ttl: '60' })).toEqual({ token: expect.stringMatching(/^[0-9a-f]{32}$/) });

  expect(await failure(root.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:writer', roles: ['repoAdmin'], resource: repoResource('input') }))).toEqual({
    code: 2,
    httpStatus: 500,
    message: 'unknown role "repoAdmin"',
  });
  expect(await failure(root.call('auth_v2.API/ModifyRoleBinding', { principal: 'writer', roles: ['repoReader'], resource: repoResource('input') }))).toMatchObject({
    code: 2,
    message: 'subject has no prefix, must be of the form <type>:<name>',
  });
  expect(await failure(root.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:writer', roles: ['repoReader'], resource: repoResource('missing') }))).toEqual({
    code: 2,
    httpStatus: 500,
    message: 'no role binding exists for REPO default/missing',
  });
});

test('an expired token gets pachd ErrExpiredToken (Internal) on every call, WhoAmI and downloads included', async () => {
  const shortLived = await robot('short', 1, ['repoReader']);
  expect((await shortLived.getFile('input', inputCommit, '/a.txt')).toString()).toBe('alpha');
  await new Promise((r) => setTimeout(r, 1100));
  const expired = { code: 13, httpStatus: 500, message: 'token expiration is in the past' };
  expect(await failure(shortLived.call('auth_v2.API/WhoAmI', {}))).toEqual(expired);
  expect(await failure(shortLived.getFile('input', inputCommit, '/a.txt'))).toEqual(expired);
  expect(await failure(shortLived.download('input', inputCommit, 'a.txt'))).toMatchObject({ httpStatus: 500, message: expect.stringContaining('token expiration is in the past') });
});

test('tokens and bindings survive a restart; a deleted repo takes its bindings along; auth off: not activated', async () => {
  const reader = await robot('durable', 600, ['repoReader']);
  await emu.close();
  emu = await startPachydermEmulator({ stateDir, authToken: ROOT });
  root = new PachdRestClient({ url: emu.url, authToken: ROOT, contractCheck: true });
  const again = new PachdRestClient({ url: emu.url, authToken: reader.authToken, contractCheck: true });
  expect((await again.getFile('input', inputCommit, '/a.txt')).toString()).toBe('alpha');

  await putFiles({ url: emu.url, authToken: ROOT }, 'temp', 'master', { '/t': 't' });
  await root.call('auth_v2.API/ModifyRoleBinding', { principal: 'robot:durable', roles: ['repoReader'], resource: repoResource('temp') });
  await root.call('pfs_v2.API/DeleteRepo', { repo: repo('temp') });
  await putFiles({ url: emu.url, authToken: ROOT }, 'temp', 'master', { '/t': 't' });
  expect(await root.call('auth_v2.API/GetRoleBinding', { resource: repoResource('temp') })).toEqual({ binding: { entries: { 'pach:root': { roles: { repoOwner: true } } } } });

  const open = await startPachydermEmulator();
  try {
    const anon = new PachdRestClient({ url: open.url, contractCheck: true });
    expect(await failure(anon.call('auth_v2.API/GetRobotToken', { robot: 'x' }))).toEqual({ code: 12, httpStatus: 501, message: 'the auth service is not activated' });
  } finally {
    await open.close();
  }
});
