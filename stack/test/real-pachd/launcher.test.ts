// The real-pachd launcher (stack/real-pachd.ts): it starts pachd v2.12.2 with auth, keeps data across a
// restart, names a port in use, and reports pachd's own error when pachd fails.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PachdRestClient } from '@continuous-training/emulators/pachyderm';
import { pachdError, startRealPachd, type RealPachd } from '../../real-pachd';
import { describeRealPachd, repoMsg, startTestPachd } from './helpers';

async function occupiedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => sockets.add(socket)); // pg_isready's probes land here
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((r) => (server.close(() => r()), sockets.forEach((s) => s.destroy())));
  return { port: (server.address() as net.AddressInfo).port, close };
}

describeRealPachd('the real-pachd launcher', () => {
  let pachd: RealPachd;

  beforeAll(async () => {
    pachd = await startTestPachd();
  });

  afterAll(async () => {
    await pachd?.close();
  });

  test('pachd 2.12.2 with auth on: healthz, version, 401 without a token; data survives a restart', async () => {
    expect(pachd.version).toMatch(/^2\.12\.2/);
    expect(await (await fetch(`${pachd.url}/healthz`)).text()).toBe('healthy\n');
    const anonymous = new PachdRestClient({ url: pachd.url });
    await expect(anonymous.call('pfs_v2.API/ListRepo')).rejects.toMatchObject({ httpStatus: 401 });
    const root = new PachdRestClient({ url: pachd.url, authToken: pachd.rootToken });
    await root.call('pfs_v2.API/CreateRepo', { repo: repoMsg('kept') });
    await pachd.restart();
    expect(await root.call('pfs_v2.API/InspectRepo', { repo: repoMsg('kept') })).toMatchObject({ repo: { name: 'kept' } });
  });

  test('a port in use is named: pachd HTTP, and PostgreSQL', async () => {
    const taken = await occupiedPort();
    try {
      await expect(startRealPachd({ httpPort: taken.port })).rejects.toThrow(new RegExp(`http port ${taken.port}.*address already in use`));
      await expect(startRealPachd({ pgPort: taken.port })).rejects.toThrow(`PostgreSQL port ${taken.port} is in use`);
    } finally {
      await taken.close();
    }
  });

  test("pachd's own error is reported, from its JSON log", () => {
    const log = [
      '{"severity":"info","message":"pachd begin setup"}',
      '{"severity":"error","message":"problem running pachd","error":"during setup step run migrations: pq: permission denied for schema public"}',
      'some trailing non-JSON line',
    ].join('\n');
    expect(pachdError(log)).toBe('problem running pachd: during setup step run migrations: pq: permission denied for schema public');
    expect(pachdError('{"severity":"info","message":"x"}\nreal-pachd: grpc port 1650: listen tcp 127.0.0.1:1650: bind: address already in use\n')).toBe(
      'grpc port 1650: listen tcp 127.0.0.1:1650: bind: address already in use',
    );
  });

  test('a state folder given by the caller is kept, with its data, after close', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-real-pachd-state-'));
    try {
      const first = await startRealPachd({ stateDir: dir });
      const root = new PachdRestClient({ url: first.url, authToken: first.rootToken });
      await root.call('pfs_v2.API/CreateRepo', { repo: repoMsg('persisted') });
      await first.close();
      const second = await startRealPachd({ stateDir: dir });
      try {
        expect(second.rootToken).toBe(first.rootToken);
        const again = new PachdRestClient({ url: second.url, authToken: second.rootToken });
        expect(await again.call('pfs_v2.API/InspectRepo', { repo: repoMsg('persisted') })).toMatchObject({ repo: { name: 'persisted' } });
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
