// The differential conformance suite's requests: every Pachyderm call the product and the emulator
// support, their errors included, in one order that builds the same state on both servers. Each case is
// sent as it is to the emulator and to real pachd; conformance.test.ts compares the answers after
// normalising what differs by nature (commit ids, timestamps, content hashes, sizes).
//
// `${name}` in a body is replaced by a value captured from an earlier answer of the same server.
// `knownDifference` marks a case the emulator answers differently on purpose; the reason is repeated
// in emulators/pachyderm/README.md ("Differences from real pachd"). The test fails if such a case
// starts to agree (so the mark is removed) or if an unmarked case differs.

export type Token = 'root' | 'none' | 'bad';

export interface ConformanceCase {
  name: string;
  /** `POST /api/<rpc>` (unary or server stream), or `GET <path>` for the non-API routes. */
  rpc?: string;
  get?: string;
  /** The JSON body; for ModifyFile, the NDJSON messages. */
  body?: unknown;
  lines?: unknown[];
  token?: Token;
  /** A server stream: its lines are compared; `limit` stops reading after that many (SubscribeCommit never ends). */
  stream?: boolean;
  limit?: number;
  /** Values to capture from the parsed answer (first line for streams), e.g. a new commit id. */
  capture?: Record<string, (answer: unknown) => string>;
  knownDifference?: string;
}

const repo = (name: string) => ({ name, type: 'user', project: { name: 'default' } });
const commit = (repoName: string, id: string) => ({ repo: repo(repoName), id });
const branchHead = (repoName: string, branch: string) => ({ repo: repo(repoName), branch: { repo: repo(repoName), name: branch } });
const file = (c: unknown, path: string) => ({ commit: c, path });
const b64 = (s: string) => Buffer.from(s).toString('base64');
const id = (answer: unknown) => (answer as { id: string }).id;

export const CASES: ConformanceCase[] = [
  // --- health, auth -------------------------------------------------------------------------------
  { name: 'healthz', get: '/healthz' },
  { name: 'WhoAmI as root', rpc: 'auth_v2.API/WhoAmI', body: {} },
  { name: 'InspectRepo without a token', rpc: 'pfs_v2.API/InspectRepo', body: { repo: repo('images') }, token: 'none' },
  { name: 'InspectRepo with a bad token', rpc: 'pfs_v2.API/InspectRepo', body: { repo: repo('images') }, token: 'bad' },
  { name: 'ListRepo with a bad token', rpc: 'pfs_v2.API/ListRepo', body: {}, token: 'bad', stream: true, knownDifference: "a server stream refused by auth: pachd answers one NDJSON {\"error\":\u2026} line, the emulator a plain rpcStatus body (same code, status and message)" },

  // --- repos ------------------------------------------------------------------------------------------
  { name: 'ListRepo, none yet', rpc: 'pfs_v2.API/ListRepo', body: {}, stream: true },
  { name: 'CreateRepo', rpc: 'pfs_v2.API/CreateRepo', body: { repo: repo('images'), description: 'pictures' } },
  { name: 'CreateRepo again', rpc: 'pfs_v2.API/CreateRepo', body: { repo: repo('images') } },
  { name: 'CreateRepo with update', rpc: 'pfs_v2.API/CreateRepo', body: { repo: repo('images'), description: 'new words', update: true } },
  { name: 'CreateRepo, a name with a space', rpc: 'pfs_v2.API/CreateRepo', body: { repo: repo('bad name') } },
  { name: 'CreateRepo, a name with a slash', rpc: 'pfs_v2.API/CreateRepo', body: { repo: repo('a/b') } },
  { name: 'CreateRepo, no name', rpc: 'pfs_v2.API/CreateRepo', body: { repo: repo('') }, knownDifference: "the emulator refuses an empty name as InvalidArgument (repo.name must be set) before pachd's name check (Unknown, name () invalid)" },
  { name: 'CreateRepo in a missing project', rpc: 'pfs_v2.API/CreateRepo', body: { repo: { name: 'x', type: 'user', project: { name: 'nowhere' } } }, knownDifference: "wording only: pachd wraps the NotFound message with its internal context; same code and status" },
  { name: 'InspectRepo', rpc: 'pfs_v2.API/InspectRepo', body: { repo: repo('images') }, knownDifference: "authInfo (the caller's permissions and roles on the repo) is not emulated: the emulator has one token and no roles" },
  { name: 'InspectRepo, missing', rpc: 'pfs_v2.API/InspectRepo', body: { repo: repo('missing') } },
  { name: 'ListRepo', rpc: 'pfs_v2.API/ListRepo', body: {}, stream: true, knownDifference: "authInfo (the caller's permissions and roles on the repo) is not emulated: the emulator has one token and no roles" },

  // --- commits -----------------------------------------------------------------------------------------
  { name: 'StartCommit on a new branch', rpc: 'pfs_v2.API/StartCommit', body: { branch: { repo: repo('images'), name: 'master' }, description: 'first' }, capture: { c1: id } },
  { name: 'StartCommit while the head is open', rpc: 'pfs_v2.API/StartCommit', body: { branch: { repo: repo('images'), name: 'master' } } },
  { name: 'StartCommit in a missing repo', rpc: 'pfs_v2.API/StartCommit', body: { branch: { repo: repo('missing'), name: 'master' } }, knownDifference: "wording only: pachd wraps the NotFound message with its internal context; same code and status" },
  { name: 'InspectCommit, open', rpc: 'pfs_v2.API/InspectCommit', body: { commit: commit('images', '${c1}') } },
  {
    name: 'ModifyFile: add two files',
    rpc: 'pfs_v2.API/ModifyFile',
    lines: [{ setCommit: commit('images', '${c1}') }, { addFile: { path: '/a.txt', raw: b64('aaaa') } }, { addFile: { path: '/dir/b.txt', raw: b64('bb') } }],
  },
  {
    name: 'ModifyFile: addFile appends',
    rpc: 'pfs_v2.API/ModifyFile',
    lines: [{ setCommit: commit('images', '${c1}') }, { addFile: { path: '/log.txt', raw: b64('one ') } }, { addFile: { path: '/log.txt', raw: b64('two') } }],
  },
  { name: 'ModifyFile: no setCommit first', rpc: 'pfs_v2.API/ModifyFile', lines: [{ addFile: { path: '/x.txt', raw: b64('x') } }] },
  { name: 'ModifyFile: a missing commit', rpc: 'pfs_v2.API/ModifyFile', lines: [{ setCommit: commit('images', 'f'.repeat(32)) }, { addFile: { path: '/x.txt', raw: b64('x') } }], knownDifference: "pachd 2.12.2 panics on a missing commit id (a nil branch in ErrBranchNotFound) and answers code 10 Aborted, HTTP 409, with a Go stack trace; the emulator answers NotFound, as pachd means to" },
  { name: 'ModifyFile: a line that is not JSON', rpc: 'pfs_v2.API/ModifyFile', lines: [{ setCommit: commit('images', '${c1}') }, 'not json'], knownDifference: "wording only: the JSON parser's own message (Go's encoding/json against JavaScript's); same code and status" },
  { name: 'GetFile in an open commit', rpc: 'pfs_v2.API/GetFile', body: { file: file(commit('images', '${c1}'), '/a.txt') }, stream: true },
  { name: 'FinishCommit', rpc: 'pfs_v2.API/FinishCommit', body: { commit: commit('images', '${c1}') } },
  { name: 'InspectCommit, wait FINISHED', rpc: 'pfs_v2.API/InspectCommit', body: { commit: commit('images', '${c1}'), wait: 'FINISHED' } },
  { name: 'FinishCommit, already finished', rpc: 'pfs_v2.API/FinishCommit', body: { commit: commit('images', '${c1}') } },
  { name: 'ModifyFile: a finished commit by id', rpc: 'pfs_v2.API/ModifyFile', lines: [{ setCommit: commit('images', '${c1}') }, { addFile: { path: '/x.txt', raw: b64('x') } }] },
  { name: 'InspectCommit, missing id', rpc: 'pfs_v2.API/InspectCommit', body: { commit: commit('images', 'e'.repeat(32)) }, knownDifference: "pachd 2.12.2 panics on a missing commit id (a nil branch in ErrBranchNotFound) and answers code 10 Aborted, HTTP 409, with a Go stack trace; the emulator answers NotFound, as pachd means to" },
  { name: 'InspectCommit, missing repo', rpc: 'pfs_v2.API/InspectCommit', body: { commit: commit('missing', 'e'.repeat(32)) }, knownDifference: "wording only: pachd wraps the NotFound message with its internal context; same code and status" },
  { name: 'InspectCommit, a branch head', rpc: 'pfs_v2.API/InspectCommit', body: { commit: branchHead('images', 'master') } },
  { name: 'InspectCommit, a missing branch', rpc: 'pfs_v2.API/InspectCommit', body: { commit: branchHead('images', 'nope') }, knownDifference: "wording only: pachd wraps the NotFound message with its internal context; same code and status" },

  { name: 'StartCommit, second', rpc: 'pfs_v2.API/StartCommit', body: { branch: { repo: repo('images'), name: 'master' }, description: 'second' }, capture: { c2: id } },
  {
    name: 'ModifyFile: overwrite (deleteFile, addFile), delete a directory, add',
    rpc: 'pfs_v2.API/ModifyFile',
    lines: [
      { setCommit: commit('images', '${c2}') },
      { deleteFile: { path: '/a.txt' } },
      { addFile: { path: '/a.txt', raw: b64('changed') } },
      { deleteFile: { path: '/dir/' } },
      { addFile: { path: '/c.txt', raw: b64('c') } },
    ],
  },
  { name: 'ModifyFile: delete a missing path', rpc: 'pfs_v2.API/ModifyFile', lines: [{ setCommit: commit('images', '${c2}') }, { deleteFile: { path: '/never.txt' } }] },
  { name: 'FinishCommit, second', rpc: 'pfs_v2.API/FinishCommit', body: { commit: commit('images', '${c2}') } },
  { name: 'InspectCommit, second, wait', rpc: 'pfs_v2.API/InspectCommit', body: { commit: commit('images', '${c2}'), wait: 'FINISHED' } },
  {
    name: 'ModifyFile on a branch whose head is finished',
    rpc: 'pfs_v2.API/ModifyFile',
    lines: [{ setCommit: branchHead('images', 'master') }, { addFile: { path: '/d.txt', raw: b64('ddd') } }],
  },
  { name: 'InspectCommit, the head after that', rpc: 'pfs_v2.API/InspectCommit', body: { commit: branchHead('images', 'master'), wait: 'FINISHED' }, capture: { c3: (a) => (a as { commit: { id: string } }).commit.id } },
  { name: 'StartCommit then FinishCommit with an error', rpc: 'pfs_v2.API/StartCommit', body: { branch: { repo: repo('images'), name: 'master' }, description: 'doomed' }, capture: { c4: id } },
  { name: 'FinishCommit with an error', rpc: 'pfs_v2.API/FinishCommit', body: { commit: commit('images', '${c4}'), error: 'upstream job failed' } },
  { name: 'InspectCommit, errored', rpc: 'pfs_v2.API/InspectCommit', body: { commit: commit('images', '${c4}'), wait: 'FINISHED' } },
  { name: 'ListCommit', rpc: 'pfs_v2.API/ListCommit', body: { repo: repo('images') }, stream: true },
  { name: 'ListCommit, number 2', rpc: 'pfs_v2.API/ListCommit', body: { repo: repo('images'), number: 2 }, stream: true },
  { name: 'ListCommit, reverse', rpc: 'pfs_v2.API/ListCommit', body: { repo: repo('images'), reverse: true }, stream: true },
  { name: 'ListCommit, missing repo', rpc: 'pfs_v2.API/ListCommit', body: { repo: repo('missing') }, stream: true, knownDifference: "wording only: pachd wraps the NotFound message with its internal context; same code and status" },
  { name: 'SubscribeCommit, FINISHED, first 3', rpc: 'pfs_v2.API/SubscribeCommit', body: { repo: repo('images'), branch: 'master', state: 'FINISHED' }, stream: true, limit: 3 },
  { name: 'SubscribeCommit, missing repo', rpc: 'pfs_v2.API/SubscribeCommit', body: { repo: repo('missing'), branch: 'master', state: 'FINISHED' }, stream: true, limit: 1, knownDifference: "wording only: pachd wraps the NotFound message with its internal context; same code and status" },

  // --- branches ------------------------------------------------------------------------------------------
  { name: 'InspectBranch', rpc: 'pfs_v2.API/InspectBranch', body: { branch: { repo: repo('images'), name: 'master' } } },
  { name: 'InspectBranch, missing', rpc: 'pfs_v2.API/InspectBranch', body: { branch: { repo: repo('images'), name: 'nope' } }, knownDifference: "wording only: pachd wraps the NotFound message with its internal context; same code and status" },
  { name: 'CreateBranch at a commit', rpc: 'pfs_v2.API/CreateBranch', body: { branch: { repo: repo('images'), name: 'dev' }, head: commit('images', '${c1}') } },
  { name: 'CreateBranch without a head', rpc: 'pfs_v2.API/CreateBranch', body: { branch: { repo: repo('images'), name: 'empty' } } },
  { name: 'CreateBranch, a bad name', rpc: 'pfs_v2.API/CreateBranch', body: { branch: { repo: repo('images'), name: 'bad name' } } },
  { name: 'ListBranch', rpc: 'pfs_v2.API/ListBranch', body: { repo: repo('images') }, stream: true },
  { name: 'DeleteBranch', rpc: 'pfs_v2.API/DeleteBranch', body: { branch: { repo: repo('images'), name: 'empty' } } },
  { name: 'DeleteBranch, missing', rpc: 'pfs_v2.API/DeleteBranch', body: { branch: { repo: repo('images'), name: 'never' } }, knownDifference: "wording only: pachd wraps the NotFound message with its internal context; same code and status" },

  // --- files ---------------------------------------------------------------------------------------------
  { name: 'GetFile', rpc: 'pfs_v2.API/GetFile', body: { file: file(commit('images', '${c2}'), '/a.txt') }, stream: true },
  { name: 'GetFile, appended file', rpc: 'pfs_v2.API/GetFile', body: { file: file(commit('images', '${c1}'), '/log.txt') }, stream: true },
  { name: 'GetFile, offset', rpc: 'pfs_v2.API/GetFile', body: { file: file(commit('images', '${c2}'), '/a.txt'), offset: 3 }, stream: true },
  { name: 'GetFile, missing path', rpc: 'pfs_v2.API/GetFile', body: { file: file(commit('images', '${c2}'), '/nope.txt') }, stream: true },
  { name: 'GetFile, a directory', rpc: 'pfs_v2.API/GetFile', body: { file: file(commit('images', '${c1}'), '/dir') }, stream: true },
  { name: 'GetFile, a glob of several', rpc: 'pfs_v2.API/GetFile', body: { file: file(commit('images', '${c2}'), '/*.txt') }, stream: true },
  { name: 'GetFile, a branch head', rpc: 'pfs_v2.API/GetFile', body: { file: file(branchHead('images', 'master'), '/d.txt') }, stream: true },
  { name: 'InspectFile', rpc: 'pfs_v2.API/InspectFile', body: { file: file(commit('images', '${c2}'), '/a.txt') } },
  { name: 'InspectFile, a directory', rpc: 'pfs_v2.API/InspectFile', body: { file: file(commit('images', '${c1}'), '/dir') } },
  { name: 'InspectFile, missing', rpc: 'pfs_v2.API/InspectFile', body: { file: file(commit('images', '${c2}'), '/nope.txt') } },
  { name: 'ListFile /', rpc: 'pfs_v2.API/ListFile', body: { file: file(commit('images', '${c1}'), '/') }, stream: true },
  { name: 'ListFile a directory', rpc: 'pfs_v2.API/ListFile', body: { file: file(commit('images', '${c1}'), '/dir') }, stream: true },
  { name: 'ListFile, missing directory', rpc: 'pfs_v2.API/ListFile', body: { file: file(commit('images', '${c1}'), '/nope') }, stream: true },
  { name: 'ListFile, number 1', rpc: 'pfs_v2.API/ListFile', body: { file: file(commit('images', '${c1}'), '/'), number: 1 }, stream: true },
  { name: 'WalkFile', rpc: 'pfs_v2.API/WalkFile', body: { file: file(commit('images', '${c1}'), '/') }, stream: true },
  { name: 'GlobFile', rpc: 'pfs_v2.API/GlobFile', body: { commit: commit('images', '${c1}'), pattern: '/**' }, stream: true },
  { name: 'DiffFile against the parent', rpc: 'pfs_v2.API/DiffFile', body: { newFile: file(commit('images', '${c2}'), '/') }, stream: true },
  { name: 'DiffFile against an explicit old commit', rpc: 'pfs_v2.API/DiffFile', body: { newFile: file(commit('images', '${c3}'), '/'), oldFile: file(commit('images', '${c1}'), '/') }, stream: true },
  { name: 'DiffFile of a first commit', rpc: 'pfs_v2.API/DiffFile', body: { newFile: file(commit('images', '${c1}'), '/') }, stream: true },
  { name: 'DiffFile, shallow', rpc: 'pfs_v2.API/DiffFile', body: { newFile: file(commit('images', '${c2}'), '/'), shallow: true }, stream: true, knownDifference: "pachd's shallow diff still lists the children of a deleted directory (/dir/b.txt); the emulator keeps the path and its direct children only" },
  { name: 'DiffFile, missing commit', rpc: 'pfs_v2.API/DiffFile', body: { newFile: file(commit('images', 'e'.repeat(32)), '/') }, stream: true, knownDifference: "pachd 2.12.2 panics on a missing commit id (a nil branch in ErrBranchNotFound) and answers code 10 Aborted, HTTP 409, with a Go stack trace; the emulator answers NotFound, as pachd means to" },
  { name: 'download /pfs/', get: '/pfs/default/images/${c2}/a.txt' },
  { name: 'download /pfs/, a branch', get: '/pfs/default/images/master/d.txt' },
  { name: 'download /pfs/, missing file', get: '/pfs/default/images/${c2}/nope.txt' },
  { name: 'download /pfs/ without a token', get: '/pfs/default/images/${c2}/a.txt', token: 'none' },

  // --- deleting -----------------------------------------------------------------------------------------
  { name: 'DeleteRepo, missing', rpc: 'pfs_v2.API/DeleteRepo', body: { repo: repo('missing') } },
  { name: 'CreateRepo, to delete', rpc: 'pfs_v2.API/CreateRepo', body: { repo: repo('scratch') } },
  { name: 'DeleteRepo', rpc: 'pfs_v2.API/DeleteRepo', body: { repo: repo('scratch') } },
  { name: 'InspectRepo, deleted', rpc: 'pfs_v2.API/InspectRepo', body: { repo: repo('scratch') } },
];
