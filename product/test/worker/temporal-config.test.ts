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

// HOME points at an empty directory: the user's own ~/.config/temporalio/temporal.toml stays out of the tests.
const HOME = dir;

test('without a profile: the variables, with the defaults of a local dev server', () => {
  expect(loadTemporalConfig({ HOME })).toEqual({
    address: 'localhost:7233',
    namespace: 'default',
    taskQueue: 'continuous-training',
    tls: undefined,
    apiKey: undefined,
    metadata: undefined,
    addressSource: 'the default: set TEMPORAL_ADDRESS or a profile',
  });
});

test("the Temporal CLI's own config file (~/.config/temporalio/temporal.toml) is read when TEMPORAL_CONFIG_FILE is unset", () => {
  const home = path.join(dir, 'home');
  fs.mkdirSync(path.join(home, '.config', 'temporalio'), { recursive: true });
  fs.copyFileSync(toml, path.join(home, '.config', 'temporalio', 'temporal.toml'));
  expect(loadTemporalConfig({ HOME: home, TEMPORAL_PROFILE: 'cloud' })).toMatchObject({ address: 'us-east-1.aws.api.temporal.io:7233', apiKey: 'profile-api-key' });
});

test("a profile's address, namespace and mTLS files (TEMPORAL_PROFILE defaults to `default`)", () => {
  const config = loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml });
  expect(config).toMatchObject({ address: 'temporal-frontend.temporal:7233', namespace: 'ct', apiKey: undefined, addressSource: `profile "default" of ${toml}` });
  expect(config.tls).toEqual({ serverNameOverride: 'frontend.internal', serverRootCACertificate: Buffer.from('profile CA'), clientCertPair: { crt: Buffer.from('client cert'), key: Buffer.from('client key') } });
});

test("the standard variables override the profile, part by part (Temporal's names: TEMPORAL_TLS_SERVER_CA_CERT_PATH, ...)", () => {
  const config = loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_ADDRESS: 'other:7233', TEMPORAL_NAMESPACE: 'other', TEMPORAL_TLS_SERVER_CA_CERT_PATH: otherCa });
  expect(config).toMatchObject({ address: 'other:7233', namespace: 'other', addressSource: 'TEMPORAL_ADDRESS' });
  expect(config.tls).toMatchObject({ serverNameOverride: 'frontend.internal', serverRootCACertificate: Buffer.from('variable CA'), clientCertPair: { crt: Buffer.from('client cert') } });
});

test("Temporal Cloud: the profile's API key implies TLS and sends the namespace, with the profile's gRPC metadata", () => {
  const config = loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
  expect(config).toMatchObject({ address: 'us-east-1.aws.api.temporal.io:7233', namespace: 'ct-prod.a1b2c', apiKey: 'profile-api-key' });
  expect(config.tls).toBeDefined();
  expect(connectionOptions(config).metadata).toEqual({ 'x-team': 'ml', 'temporal-namespace': 'ct-prod.a1b2c' });
});

test("a profile's `tls.disabled` and TEMPORAL_TLS=false turn off the TLS an API key implies", () => {
  expect(loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'plain' }).tls).toBe(false);
  expect(loadTemporalConfig({ HOME, TEMPORAL_API_KEY: 'k' }).tls).toBe(true);
  expect(loadTemporalConfig({ HOME, TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls).toBe(false);
  expect(loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud', TEMPORAL_TLS: 'false' }).tls).toBe(false);
});

test('an empty variable (how Compose and Helm pass an unset one) is not set: an empty API key does not turn TLS on', () => {
  expect(loadTemporalConfig({ HOME, TEMPORAL_API_KEY: '', TEMPORAL_TLS: '', TEMPORAL_ADDRESS: '', TEMPORAL_PROFILE: '' })).toMatchObject({ address: 'localhost:7233', apiKey: undefined, tls: undefined });
});

test('a misspelt key, a missing profile, file or TLS file, half an mTLS pair, a bad TEMPORAL_TLS: one error naming the setting', () => {
  const misspelt = file('misspelt.toml', '[profile.default]\naddres = "x:1"\n');
  expect(() => loadTemporalConfig({ TEMPORAL_CONFIG_FILE: misspelt })).toThrow(/^invalid Temporal configuration: profile "default" of .*misspelt\.toml: .*unrecognized .*addres/);
  expect(() => loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'nope' })).toThrow(/profile "nope" of .*temporal\.toml: .*nope/);
  expect(() => loadTemporalConfig({ TEMPORAL_CONFIG_FILE: path.join(dir, 'missing.toml') })).toThrow(/TEMPORAL_CONFIG_FILE: cannot read .*missing\.toml/);
  expect(() => loadTemporalConfig({ HOME, TEMPORAL_PROFILE: 'cloud' })).toThrow(/profile "cloud" of the Temporal CLI config file .*not found/);
  const missingCa = file('missing-ca.toml', `[profile.default]\naddress = "x:1"\n[profile.default.tls]\nserver_ca_cert_path = "${path.join(dir, 'nope.pem')}"\n`);
  expect(() => loadTemporalConfig({ TEMPORAL_CONFIG_FILE: missingCa })).toThrow(/profile "default" of .*missing-ca\.toml: .*nope\.pem/);
  expect(() => loadTemporalConfig({ HOME, TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'nope.pem') })).toThrow(/TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read .*nope\.pem/);
  expect(() => loadTemporalConfig({ HOME, TEMPORAL_TLS_CLIENT_CERT_PATH: crt })).toThrow(/mTLS needs both the client certificate and its key/);
  expect(() => loadTemporalConfig({ HOME, TEMPORAL_TLS: 'yes' })).toThrow('TEMPORAL_TLS: "yes" is not true or false');
});

test("the names this product once read instead of Temporal's are refused with Temporal's name", () => {
  expect(() => loadTemporalConfig({ HOME, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_CERT: crt, TEMPORAL_TLS_KEY: key })).toThrow(
    'invalid Temporal configuration: TEMPORAL_TLS_CA is not read: Temporal\'s name for it is TEMPORAL_TLS_SERVER_CA_CERT_PATH; ' +
      'TEMPORAL_TLS_CERT is not read: Temporal\'s name for it is TEMPORAL_TLS_CLIENT_CERT_PATH; TEMPORAL_TLS_KEY is not read: Temporal\'s name for it is TEMPORAL_TLS_CLIENT_KEY_PATH',
  );
});
