// PachdRestClient sends no `Connection` header: real pachd's REST gateway (port 1659) answers one with
// HTTP 500 (see stack/test/real-pachd/activities.test.ts, which shows it on the real server).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PachdRestClient } from '../pachyderm/client';

test('requests carry no Connection header', async () => {
  const seen: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers.connection);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = new PachdRestClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await client.call('pfs_v2.API/InspectRepo', { repo: { name: 'r' } });
    await client.list('pfs_v2.API/ListRepo');
    expect(seen).toEqual([undefined, undefined]);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
