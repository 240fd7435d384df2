// The HTTP client's keep-alive agents: connections are reused, and no request carries the hop-by-hop
// `Connection` header, which pachd's own REST gateway turns into an HTTP 500 (see createAgents); and
// pachd's own error answers where the status alone misleads.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient, createAgents } from '../../activities/http/client';
import { PachydermClient } from '../../activities/pachyderm/client';
import { repoOf } from '../../activities/pachyderm/types';

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

test("an idle socket is closed before the server's Keep-Alive timeout, so a POST never goes out on a socket the server is closing", async () => {
  // The server announces `Keep-Alive: timeout=2`; the client must drop its idle socket after ~1 s.
  const closedByClient: number[] = [];
  const keepAliveServer = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  keepAliveServer.keepAliveTimeout = 2_000;
  keepAliveServer.on('connection', (socket) => socket.on('end', () => closedByClient.push(Date.now())));
  await new Promise<void>((resolve) => keepAliveServer.listen(0, '127.0.0.1', resolve));
  const settings = { timeoutMs: 5_000 };
  const agents = createAgents(settings);
  try {
    const client = new HttpClient(`http://127.0.0.1:${(keepAliveServer.address() as AddressInfo).port}`, settings, agents);
    await client.json({ method: 'POST', path: '/x', body: {} });
    const answered = Date.now();
    await new Promise((r) => setTimeout(r, 1_700));
    // Closed by the client (the server's end: 'end' is the peer's FIN) before the server's 2 s were up.
    expect(closedByClient).toHaveLength(1);
    expect(closedByClient[0] - answered).toBeLessThan(2_000);
  } finally {
    agents.httpAgent.destroy();
    keepAliveServer.closeAllConnections();
    await new Promise((resolve) => keepAliveServer.close(resolve));
  }
});

test("pachd's answer for a missing repo to a non-root user (500, no role binding) is a non-retryable NotFound", async () => {
  const stub = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":2,"message":"no role binding exists for REPO default/gone","details":[]}'));
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  try {
    const client = new PachydermClient({ pachyderm: { url: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`, token: 't' }, timeoutMs: 5_000 });
    await expect(client.inspectRepo(repoOf('default', 'gone'))).rejects.toMatchObject({ type: 'NotFound', nonRetryable: true });
  } finally {
    stub.closeAllConnections();
    await new Promise((resolve) => stub.close(resolve));
  }
});
