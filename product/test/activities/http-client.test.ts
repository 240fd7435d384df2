// The HTTP client's keep-alive agents: connections are reused, and no request carries the hop-by-hop
// `Connection` header, which pachd's own REST gateway turns into an HTTP 500 (see createAgents).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient, createAgents } from '../../activities/http/client';

let server: http.Server;
let url: string;
const seen: { connection: string | undefined; socket: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ connection: req.headers.connection, socket: `${req.socket.remotePort}` });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('requests carry no Connection header and reuse one socket', async () => {
  const settings = { timeoutMs: 5_000 };
  const agents = createAgents(settings);
  const client = new HttpClient(url, settings, agents);
  for (let i = 0; i < 3; i++) {
    expect(await client.json({ method: 'POST', path: '/api/pfs_v2.API/InspectRepo', body: { i } })).toEqual({ ok: true });
  }
  expect(seen.map((s) => s.connection)).toEqual([undefined, undefined, undefined]);
  expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
  agents.httpAgent.destroy();
});
