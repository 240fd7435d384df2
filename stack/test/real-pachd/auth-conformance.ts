// The auth steps issue 19.11 relies on, sent the same way to the pachd emulator and to real pachd: what each
// answers (status, code, message), with tokens, timestamps and commit ids normalised.
import { PachdError, PachdRestClient, commitOf, putFiles } from '@continuous-training/emulators/pachyderm/client';

export interface AuthAnswer {
  step: string;
  status: number;
  body: unknown;
}

const repo = (name: string) => ({ name, type: 'user', project: { name: 'default' } });
const resource = (name: string) => ({ type: 'REPO', name: `default/${name}` });

function normalise(value: unknown): unknown {
  if (typeof value === 'string') {
    return value
      .replace(/\b[0-9a-f]{32}\b/g, '<id>')
      .replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/, '<time>');
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  return value;
}

async function answer(step: string, p: Promise<unknown>): Promise<AuthAnswer> {
  try {
    return { step, status: 200, body: normalise(await p) };
  } catch (err) {
    if (err instanceof PachdError) return { step, status: err.httpStatus, body: normalise({ code: err.code, message: err.message }) };
    throw err;
  }
}

/** Runs the steps against pachd at `url` with its root token; `suffix` keeps repo and robot names apart per run. */
export async function authSteps(url: string, rootToken: string, suffix: string): Promise<AuthAnswer[]> {
  const root = new PachdRestClient({ url, authToken: rootToken });
  const input = `auth-in-${suffix}`;
  const other = `auth-other-${suffix}`;
  const robot = `ct-reader/default/${input}`;
  const commit = await putFiles({ url, authToken: rootToken }, input, 'master', { '/a.txt': 'alpha' });
  await putFiles({ url, authToken: rootToken }, other, 'master', { '/b.txt': 'beta' });
  const out: AuthAnswer[] = [];
  out.push(await answer('root WhoAmI', root.call('auth_v2.API/WhoAmI', {})));
  out.push(await answer('ModifyRoleBinding repoReader', root.call('auth_v2.API/ModifyRoleBinding', { principal: `robot:${robot}`, roles: ['repoReader'], resource: resource(input) })));
  out.push(await answer('ModifyRoleBinding again', root.call('auth_v2.API/ModifyRoleBinding', { principal: `robot:${robot}`, roles: ['repoReader'], resource: resource(input) })));
  out.push(await answer('GetRoleBinding', root.call('auth_v2.API/GetRoleBinding', { resource: resource(input) })));
  out.push(await answer('ModifyRoleBinding missing repo', root.call('auth_v2.API/ModifyRoleBinding', { principal: `robot:${robot}`, roles: ['repoReader'], resource: resource(`missing-${suffix}`) })));
  out.push(await answer('ModifyRoleBinding unknown role', root.call('auth_v2.API/ModifyRoleBinding', { principal: `robot:${robot}`, roles: ['repoAdmin'], resource: resource(input) })));
  const minted = await root.call<{ token: string }>('auth_v2.API/GetRobotToken', { robot, ttl: '3600' });
  out.push({ step: 'GetRobotToken', status: 200, body: normalise(minted) });
  const reader = new PachdRestClient({ url, authToken: minted.token });
  const who = await reader.call<{ username: string; expiration: string | null }>('auth_v2.API/WhoAmI', {});
  out.push({ step: 'robot WhoAmI', status: 200, body: normalise({ username: who.username, expiresWithinTtl: who.expiration !== null && Date.parse(who.expiration) - Date.now() <= 3600_000 + 5000 }) });
  out.push(await answer('robot DiffFile input', reader.list('pfs_v2.API/DiffFile', { newFile: { commit: commitOf(input, commit), path: '/' } }).then((d) => d.length)));
  out.push(await answer('robot WalkFile input', reader.list('pfs_v2.API/WalkFile', { file: { commit: commitOf(input, commit), path: '/' } }).then((d) => d.length)));
  out.push(await answer('robot download input', reader.download(input, commit, 'a.txt').then((b) => b.toString())));
  out.push(await answer('robot DiffFile other', reader.list('pfs_v2.API/DiffFile', { newFile: { commit: commitOf(other, 'master'), path: '/' } })));
  out.push(await answer('robot download other', reader.download(other, 'master', 'b.txt').then((b) => b.toString())));
  out.push(await answer('robot StartCommit input', reader.call('pfs_v2.API/StartCommit', { branch: { repo: repo(input), name: 'master' } })));
  out.push(await answer('robot GetRobotToken', reader.call('auth_v2.API/GetRobotToken', { robot: `escalate-${suffix}` })));
  out.push(await answer('robot ModifyRoleBinding', reader.call('auth_v2.API/ModifyRoleBinding', { principal: `robot:${robot}`, roles: ['repoOwner'], resource: resource(input) })));
  out.push(await answer('robot InspectCommit missing repo', reader.call('pfs_v2.API/InspectCommit', { commit: commitOf(`missing-${suffix}`, 'master') })));
  const short = await root.call<{ token: string }>('auth_v2.API/GetRobotToken', { robot, ttl: '1' });
  await new Promise((r) => setTimeout(r, 2100));
  const expired = new PachdRestClient({ url, authToken: short.token });
  out.push(await answer('expired WhoAmI', expired.call('auth_v2.API/WhoAmI', {})));
  out.push(await answer('expired DiffFile', expired.list('pfs_v2.API/DiffFile', { newFile: { commit: commitOf(input, commit), path: '/' } })));
  return out;
}
