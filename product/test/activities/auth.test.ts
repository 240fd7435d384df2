// Credentials the servers stop accepting (a restarted master or issuer) are renewed on 401; the worker
// configuration is read from the environment with one error naming every problem.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../../activities';
import { loadConnectionsConfig } from '../../activities/config';
import { startDeterminedEmulator } from '@continuous-training/emulators/determined';
import { startSeldonEmulator } from '@continuous-training/emulators/seldon/emulator';
import { DET_PASSWORD, SELDON_SECRET, run, testConfig } from './helpers';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-auth-test-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const inputRepo = { project: 'default', repo: 'r', branch: 'master' };

test('Determined: a token the master no longer knows is replaced by logging in again', async () => {
  let master = await startDeterminedEmulator({ stateDir: path.join(tmp, 'a'), password: DET_PASSWORD });
  const port = master.port;
  try {
    const activities = createActivities(testConfig(tmp, { determined: master.url }));
    expect(await run(activities, 'lookupModel', { modelName: 'm', pipelineName: 'p', inputRepo })).toBeNull();
    // A new master (fresh state) on the same address: the cached token is unknown there and answers 401.
    await master.close();
    master = await startDeterminedEmulator({ stateDir: path.join(tmp, 'b'), password: DET_PASSWORD, port });
    expect(await run(activities, 'lookupModel', { modelName: 'm', pipelineName: 'p', inputRepo })).toBeNull();
  } finally {
    await master.close();
  }
});

test('Seldon: a token the issuer no longer accepts is replaced after a 401', async () => {
  let seldon = await startSeldonEmulator({ stateDir: path.join(tmp, 'a'), clientSecret: SELDON_SECRET });
  const port = seldon.port;
  try {
    const activities = createActivities(testConfig(tmp, { seldon: seldon.url }));
    expect(await run(activities, 'getDeployedModel', { deploymentName: 'x', namespace: 'seldon' })).toBeNull();
    // A new issuer (new signing key) on the same address: the cached, unexpired token answers 401.
    await seldon.close();
    seldon = await startSeldonEmulator({ stateDir: path.join(tmp, 'b'), clientSecret: SELDON_SECRET, port });
    expect(await run(activities, 'getDeployedModel', { deploymentName: 'x', namespace: 'seldon' })).toBeNull();
  } finally {
    await seldon.close();
  }
});

describe('loadConnectionsConfig', () => {
  const env = {
    PACHD_URL: 'http://pachd:1659',
    DET_MASTER: 'determined-master:8080',
    DET_USER: 'determined',
    DET_PASSWORD: 'dai',
    SELDON_URL: 'https://seldon.example',
    SELDON_CLIENT_SECRET: 'sd-api-secret',
  };

  test('reads the environment with the documented defaults', () => {
    const config = loadConnectionsConfig(env);
    expect(config.pachyderm).toEqual({ url: 'http://pachd:1659', token: undefined, experimentHost: 'pachd', experimentPort: 1659, experimentToken: 'robot' });
    expect(loadConnectionsConfig({ ...env, PACHD_EXPERIMENT_TOKEN: 'worker' }).pachyderm.experimentToken).toBe('worker');
    expect(config.determined).toEqual({ url: 'http://determined-master:8080', user: 'determined', password: 'dai' });
    expect(config.seldon).toMatchObject({ oidcIssuer: 'https://seldon.example/auth/realms/deploy-realm', clientId: 'sd-api', clientSecret: 'sd-api-secret' });
    expect(config.timeoutMs).toBe(30_000);
  });

  test('one error names every missing or invalid variable', () => {
    expect(() => loadConnectionsConfig({ DET_MASTER: 'ftp://x', CT_HTTP_TIMEOUT_MS: 'soon', PACHD_EXPERIMENT_PORT: '99999', PACHD_EXPERIMENT_TOKEN: 'root' })).toThrow(
      /PACHD_URL is required[\s\S]*DET_MASTER must be an http\(s\) URL[\s\S]*DET_USER is required[\s\S]*SELDON_URL is required[\s\S]*SELDON_CLIENT_SECRET[\s\S]*PACHD_EXPERIMENT_PORT[\s\S]*PACHD_EXPERIMENT_TOKEN must be one of robot, worker, none, got "root"[\s\S]*CT_HTTP_TIMEOUT_MS/,
    );
  });
});
