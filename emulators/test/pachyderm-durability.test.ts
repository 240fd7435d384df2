// The pachd emulator keeps everything across restarts, runs standalone, and streams big data.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { startPachydermEmulator } from '../pachyderm';
import { PachdRestClient, commitOf, putFiles } from '../pachyderm/client';

const repo = (name: string) => ({ name, type: 'user', project: { name: 'default' } });
const tmpDirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pachd-test-'));
  tmpDirs.push(d);
  return d;
};
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

test('kill and restart on the same state dir: nothing is lost, open commits stay open', async () => {
  const stateDir = tmp();
  let emu = await startPachydermEmulator({ stateDir });
  const finished = await putFiles(emu.url, 'data', 'master', { '/a.txt': 'one', '/b/c.txt': 'two' });
  let client = new PachdRestClient({ url: emu.url, contractCheck: true });
  const { id: open } = await client.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repo('data'), name: 'master' } });
  await client.modifyFile([{ setCommit: commitOf('data', open) }, { addFile: { path: '/pending.txt', raw: Buffer.from('later').toString('base64') } }]);
  const hashBefore = (await client.call<{ hash: string }>('pfs_v2.API/InspectFile', { file: { commit: commitOf('data', finished), path: '/a.txt' } })).hash;
  await emu.close();

  emu = await startPachydermEmulator({ stateDir });
  client = new PachdRestClient({ url: emu.url, contractCheck: true });
  try {
    expect((await client.call<{ hash: string }>('pfs_v2.API/InspectFile', { file: { commit: commitOf('data', finished), path: '/a.txt' } })).hash).toBe(hashBefore);
    expect((await client.getFile('data', finished, '/b/c.txt')).toString()).toBe('two');
    const head = await client.call<{ commit: { id: string }; finished: string | null }>('pfs_v2.API/InspectCommit', { commit: commitOf('data', 'master') });
    expect(head.commit.id).toBe(open);
    expect(head.finished).toBeNull();
    await client.call('pfs_v2.API/FinishCommit', { commit: commitOf('data', open) });
    await client.call('pfs_v2.API/InspectCommit', { commit: commitOf('data', open), wait: 'FINISHED' });
    expect((await client.getFile('data', 'master', '/pending.txt')).toString()).toBe('later');
    expect((await client.getFile('data', 'master', '/a.txt')).toString()).toBe('one');
  } finally {
    await emu.close();
  }
});

test('a 10k-file commit diffs as a stream in path order', async () => {
  const emu = await startPachydermEmulator({ stateDir: tmp() });
  try {
    const client = new PachdRestClient(emu.url);
    const files: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) files[`/shard-${i % 10}/f${String(i).padStart(5, '0')}.txt`] = `content ${i}`;
    await putFiles(emu.url, 'big', 'master', files);
    const changes: Record<string, string> = {};
    for (let i = 0; i < 100; i++) changes[`/shard-3/f${String(i * 10 + 3).padStart(5, '0')}.txt`] = `changed ${i}`;
    for (let i = 0; i < 50; i++) changes[`/shard-new/n${i}.txt`] = `new ${i}`;
    const deletes = Array.from({ length: 50 }, (_, i) => `/shard-7/f${String(i * 10 + 7).padStart(5, '0')}.txt`);
    const second = await putFiles(emu.url, 'big', 'master', changes, { deletes });
    const kinds = { added: 0, deleted: 0, modified: 0 };
    let last = '';
    const dirs: string[] = [];
    for await (const d of client.stream<{ newFile: { file: { path: string }; fileType: string } | null; oldFile: { file: { path: string }; fileType: string } | null }>(
      'pfs_v2.API/DiffFile',
      { newFile: { commit: commitOf('big', second), path: '/' } },
    )) {
      const info = (d.newFile ?? d.oldFile) as { file: { path: string }; fileType: string };
      expect(info.file.path > last).toBe(true);
      last = info.file.path;
      if (info.fileType === 'DIR') {
        dirs.push(info.file.path);
        continue;
      }
      kinds[d.newFile && d.oldFile ? 'modified' : d.newFile ? 'added' : 'deleted']++;
    }
    expect(kinds).toEqual({ added: 50, deleted: 50, modified: 100 });
    expect(dirs).toEqual(['/', '/shard-3/', '/shard-7/', '/shard-new/']);
  } finally {
    await emu.close();
  }
});

test('a large upload streamed as many addFile chunks lands in the blob store intact', async () => {
  const emu = await startPachydermEmulator({ stateDir: tmp() });
  try {
    const client = new PachdRestClient(emu.url);
    await client.call('pfs_v2.API/CreateRepo', { repo: repo('models') });
    const { id } = await client.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repo('models'), name: 'master' } });
    const chunk = 256 * 1024;
    const chunks = 96; // 24 MiB, generated on the fly
    const sent = crypto.createHash('sha256');
    await client.modifyFile(
      (function* () {
        yield { setCommit: commitOf('models', id) };
        for (let i = 0; i < chunks; i++) {
          const data = crypto.createHash('sha512').update(String(i)).digest();
          const buf = Buffer.alloc(chunk, data);
          sent.update(buf);
          yield { addFile: { path: '/checkpoint/model.bin', raw: buf.toString('base64') } };
        }
      })(),
    );
    await client.call('pfs_v2.API/FinishCommit', { commit: commitOf('models', id) });
    const info = await client.call<{ sizeBytesUpperBound: string }>('pfs_v2.API/InspectCommit', { commit: commitOf('models', id), wait: 'FINISHED' });
    expect(info.sizeBytesUpperBound).toBe(String(chunk * chunks));
    const expected = sent.digest('hex');
    const file = await client.call<{ hash: string }>('pfs_v2.API/InspectFile', { file: { commit: commitOf('models', id), path: '/checkpoint/model.bin' } });
    expect(Buffer.from(file.hash, 'base64').toString('hex')).toBe(expected);
    // Stored once, content-addressed, in the state dir's blob store.
    expect(fs.existsSync(emu.store.content.blobs.pathOf(expected))).toBe(true);
    expect(crypto.createHash('sha256').update(await client.download('models', 'master', '/checkpoint/model.bin')).digest('hex')).toBe(expected);
  } finally {
    await emu.close();
  }
});

test('standalone main: prints its URL, serves, stops cleanly on SIGTERM', async () => {
  const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
  const main = path.resolve(__dirname, '../pachyderm/main.ts');
  const child = spawn(tsx, [main, '--port', '0', '--state-dir', tmp(), '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    await putFiles(url, 'r', 'master', { '/x': 'y' });
    expect((await new PachdRestClient(url).download('r', 'master', '/x')).toString()).toBe('y');
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
