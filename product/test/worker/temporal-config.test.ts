// worker/temporal-config.ts: the Temporal connection from the environment, over an envconfig profile.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionOptions, loadTemporalConfig } from '../../worker/temporal-config';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-envconfig-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

const ca = file('ca.pem', 'profile CA');
const crt = file('tls.crt', 'client cert');
const key = file('tls.key', 'client key');
const otherCa = file('other-ca.pem', 'variable CA');
const toml = file(
  'temporal.toml',
  `[profile.default]
address = "temporal-frontend.temporal:7233"
namespace = "ct"

[profile.default.tls]
server_name = "frontend.internal"
server_ca_cert_path = "${ca}"
client_cert_path = "${crt}"
client_key_path = "${key}"

[profile.cloud]
address = "us-east-1.aws.api.temporal.io:7233"
namespace = "ct-prod.a1b2c"
api_key = "profile-api-key"

[profile.cloud.grpc_meta]
x-team = "ml"

[profile.plain]
address = "temporal:7233"
api_key = "k"

[profile.plain.tls]
disabled = true
`,
);

test('without a profile: the variables, with the defaults of a local dev server', () => {
  expect(loadTemporalConfig({})).toEqual({ address: 'localhost:7233', namespace: 'default', taskQueue: 'continuous-training', tls: undefined, apiKey: undefined, metadata: undefined });
});

test("a profile's address, namespace and mTLS files (TEMPORAL_PROFILE defaults to `default`)", () => {
  const config = loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml });
  expect(config).toMatchObject({ address: 'temporal-frontend.temporal:7233', namespace: 'ct', apiKey: undefined });
  expect(config.tls).toEqual({ serverNameOverride: 'frontend.internal', serverRootCACertificate: Buffer.from('profile CA'), clientCertPair: { crt: Buffer.from('client cert'), key: Buffer.from('client key') } });
});

test('the variables override the profile, part by part', () => {
  const config = loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_ADDRESS: 'other:7233', TEMPORAL_NAMESPACE: 'other', TEMPORAL_TLS_CA: otherCa });
  expect(config).toMatchObject({ address: 'other:7233', namespace: 'other' });
  expect(config.tls).toMatchObject({ serverNameOverride: 'frontend.internal', serverRootCACertificate: Buffer.from('variable CA'), clientCertPair: { crt: Buffer.from('client cert') } });
});

test("Temporal Cloud: the profile's API key implies TLS and sends the namespace, with the profile's gRPC metadata", () => {
  const config = loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
  expect(config).toMatchObject({ address: 'us-east-1.aws.api.temporal.io:7233', namespace: 'ct-prod.a1b2c', apiKey: 'profile-api-key' });
  expect(config.tls).toBeDefined();
  expect(connectionOptions(config).metadata).toEqual({ 'x-team': 'ml', 'temporal-namespace': 'ct-prod.a1b2c' });
});

test("a profile's `tls.disabled` turns off the TLS its API key would imply", () => {
  expect(loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'plain' }).tls).toBeUndefined();
});

test('a misspelt key, a missing profile, file or TLS file, a profile without a file: one error naming the variable', () => {
  const misspelt = file('misspelt.toml', '[profile.default]\naddres = "x:1"\n');
  expect(() => loadTemporalConfig({ TEMPORAL_CONFIG_FILE: misspelt })).toThrow(/^invalid Temporal configuration: TEMPORAL_CONFIG_FILE: .*misspelt\.toml: .*addres/);
  expect(() => loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'nope' })).toThrow(/TEMPORAL_CONFIG_FILE: .*nope/);
  expect(() => loadTemporalConfig({ TEMPORAL_CONFIG_FILE: path.join(dir, 'missing.toml') })).toThrow(/TEMPORAL_CONFIG_FILE: .*missing\.toml/);
  expect(() => loadTemporalConfig({ TEMPORAL_PROFILE: 'cloud' })).toThrow('TEMPORAL_PROFILE needs TEMPORAL_CONFIG_FILE');
  const missingCa = file('missing-ca.toml', `[profile.default]\naddress = "x:1"\n[profile.default.tls]\nserver_ca_cert_path = "${path.join(dir, 'nope.pem')}"\n`);
  expect(() => loadTemporalConfig({ TEMPORAL_CONFIG_FILE: missingCa })).toThrow(/TEMPORAL_CONFIG_FILE: .*missing-ca\.toml: .*nope\.pem/);
});
