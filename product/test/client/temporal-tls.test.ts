// Connecting the way Temporal users do (worker/temporal-config.ts): an envconfig profile with mTLS files and
// one with an API key, against a TLS listener in front of a dev server; the standard variables; TEMPORAL_TLS=false
// with an API key. Both connections are checked: the worker's NativeConnection and the CLI's (and watcher's) Connection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { NativeConnection } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLocalEnv } from '../helpers/temporal';
import { makeCa, makeLeaf, startTlsProxy, type Pem, type TlsProxy } from '../helpers/tls';
import { cannotReach, connectionOptions, loadTemporalConfig } from '../../worker/temporal-config';
import { connectTemporal } from '../../client/connect';
import { ctCommandLine } from '../helpers/product-build';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-tls-'));

let env: TestWorkflowEnvironment;
let ca: Pem;
let otherCa: Pem;
let client: Pem;
let mtls: TlsProxy;
let keyed: TlsProxy;
let toml: string;

beforeAll(async () => {
  ca = makeCa(dir, 'ca');
  otherCa = makeCa(dir, 'other-ca');
  const server = makeLeaf(dir, 'server', ca, 'server');
  client = makeLeaf(dir, 'client', ca, 'client');
  env = await createLocalEnv();
  [mtls, keyed] = await Promise.all([
    startTlsProxy({ target: env.address, server, clientCa: ca.cert }),
    startTlsProxy({ target: env.address, server, apiKey: 'the-api-key' }),
  ]);
  toml = path.join(dir, 'temporal.toml');
  fs.writeFileSync(
    toml,
    `[profile.mtls]
address = "${mtls.address}"
namespace = "default"
[profile.mtls.tls]
server_ca_cert_path = "${ca.cert}"
client_cert_path = "${client.cert}"
client_key_path = "${client.key}"
server_name = "localhost"

[profile.cloud]
address = "${keyed.address}"
namespace = "default"
api_key = "the-api-key"
[profile.cloud.tls]
server_ca_cert_path = "${ca.cert}"
server_name = "localhost"
`,
  );
});

afterAll(async () => {
  await Promise.all([mtls?.close(), keyed?.close()]);
  await env?.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Connects as the worker does and as the CLI does; each asks the server for its system info. */
async function connectBoth(vars: Record<string, string>): Promise<void> {
  const config = loadTemporalConfig(vars);
  const native = await NativeConnection.connect(connectionOptions(config));
  try {
    await native.workflowService.getSystemInfo({});
  } finally {
    await native.close();
  }
  const temporal = await connectTemporal(vars);
  try {
    await temporal.client.workflowService.getSystemInfo({});
  } finally {
    await temporal.close();
  }
}

function ct(args: string[], vars: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Only the variables given: nothing of the test's own environment decides how ct connects.
  const base = { PATH: process.env.PATH ?? '', HOME: dir };
  return new Promise((resolve) => {
    const [node, cli] = ctCommandLine();
    execFile(node, [cli, ...args], { encoding: 'utf8', env: { ...base, ...vars }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.trim() }),
    );
  });
}

test('a profile with mTLS files: the worker and the CLI connect through the TLS listener, which checks the client certificate', async () => {
  const before = mtls.forwarded;
  await connectBoth({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls' });
  expect(mtls.forwarded).toBeGreaterThanOrEqual(before + 2);
  const listed = await ct(['list', '--json'], { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls' });
  expect(listed).toMatchObject({ code: 0, stderr: '' });
  expect(JSON.parse(listed.stdout)).toEqual(expect.any(Array));
});

test('the standard variables alone, without a profile, give the same mTLS connection', async () => {
  await connectBoth({
    TEMPORAL_ADDRESS: mtls.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca.cert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: client.cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: client.key,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    HOME: dir,
  });
});

test('a profile with an API key: TLS is implied and the key reaches the listener', async () => {
  const before = keyed.forwarded;
  await connectBoth({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
  expect(keyed.forwarded).toBeGreaterThanOrEqual(before + 2);
  // The variable overrides the profile's key: a wrong one is refused by the listener.
  await expect(connectTemporal({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud', TEMPORAL_API_KEY: 'wrong' })).rejects.toThrow(
    new RegExp(`^cannot reach Temporal at ${keyed.address} \\(from profile "cloud" of .*temporal\\.toml; TLS, API key\\): .*invalid API key`),
  );
});

test('ct status (its own gRPC calls, without the SDK) connects with the same settings: mTLS, an API key, a wrong key refused', async () => {
  const [mtlsBefore, keyedBefore] = [mtls.forwarded, keyed.forwarded];
  // The server's answer (no such workflow: exit 3) proves the call went through the listener.
  expect(await ct(['status', 'no-such-workflow'], { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls' })).toMatchObject({ code: 3, stderr: 'error: workflow not found for ID: no-such-workflow' });
  expect(await ct(['status', 'no-such-workflow'], { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' })).toMatchObject({ code: 3 });
  expect([mtls.forwarded, keyed.forwarded]).toEqual([mtlsBefore + 2, keyedBefore + 2]); // the describe and the query
  const refused = await ct(['status', 'no-such-workflow'], { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud', TEMPORAL_API_KEY: 'wrong' });
  expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(new RegExp(`^error: cannot reach Temporal at ${keyed.address} \\(from profile "cloud" of .*temporal\\.toml; TLS, API key\\): invalid API key$`)) });
});

test('TEMPORAL_TLS=false is honoured with an API key (a plaintext server with a key-checking proxy in front, e.g. a sidecar)', async () => {
  const vars = { TEMPORAL_ADDRESS: env.address, TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false', HOME: dir };
  expect(loadTemporalConfig(vars).tls).toBe(false);
  await connectBoth(vars);
});

test('a wrong CA fails with one line naming the address, what set it and the certificate problem', async () => {
  const vars = { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls', TEMPORAL_TLS_SERVER_CA_CERT_PATH: otherCa.cert };
  const r = await ct(['status', 'anything'], vars);
  expect(r.code).toBe(1);
  expect(r.stderr.split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^error: cannot reach Temporal at ${mtls.address} \\(from profile "mtls" of .*temporal\\.toml; TLS\\): .*; TLS: the server's certificate is not signed by the CA in use \\(\\w+\\): check TEMPORAL_TLS_SERVER_CA_CERT_PATH`));
  const config = loadTemporalConfig(vars);
  const err = await NativeConnection.connect(connectionOptions(config)).then(() => null, (e: unknown) => e);
  expect((err as Error).message).toMatch(/InvalidCertificate\(UnknownIssuer\)/);
  // The worker's message (worker/main.ts) is the same line.
  expect((await cannotReach(config, err)).message).toMatch(/; TLS: the server's certificate is not signed by the CA in use/);
});

test('without the client certificate the mTLS listener refuses the connection', async () => {
  await expect(connectTemporal({ TEMPORAL_ADDRESS: mtls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca.cert, TEMPORAL_TLS_SERVER_NAME: 'localhost', HOME: dir })).rejects.toThrow(
    new RegExp(`^cannot reach Temporal at ${mtls.address} \\(from TEMPORAL_ADDRESS; TLS\\): .*; TLS: the server refused the client certificate`),
  );
});
