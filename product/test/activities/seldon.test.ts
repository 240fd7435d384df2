// getDeployedModel, deployModel, waitForDeploymentReady and replaceDetector against the Seldon Deploy emulator.
import axios from 'axios';
import { createActivities } from '../../activities';
import type { DeploymentSettings, DetectorSettings, ModelInfo } from '../../common/types';
import { expectFailure, mockEnv, run, startHarness, type Harness } from './helpers';
import { ErrorType } from '../../common/errors';
import { deployModel } from '../../activities/deploy-model';
import { failure } from '../../activities/http/errors';
import { buildSeldonDeployment } from '../../activities/seldon/deployment-resource';
import type { Clients } from '../../activities/clients';

let h: Harness;
let token: string;

beforeAll(async () => {
  h = await startHarness({
    seldon: {
      outcomes: [
        { name: 'broken-*', state: 'Failed', delayMs: 50, message: 'container crashed: exit code 1' },
        { name: 'slow-*', state: 'Available', delayMs: 60_000 },
      ],
      secrets: { 'seldon/registry-credentials': { DET_MASTER: 'http://det:8080', DET_USER: 'determined', DET_PASSWORD: 'secret' } },
    },
  });
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'sd-api', client_secret: 'sd-api-secret' });
  const res = await axios.post<{ access_token: string }>(`${h.seldon!.url}/auth/realms/deploy-realm/protocol/openid-connect/token`, form.toString());
  token = res.data.access_token;
});

afterAll(async () => {
  await h.close();
});

const settings = (name: string, overrides: Partial<DeploymentSettings> = {}): DeploymentSettings => ({
  name,
  namespace: 'seldon',
  servingImage: 'registry.example/serve:1.0',
  replicas: 1,
  credentialsSecret: 'registry-credentials',
  strategy: 'replace',
  readyTimeout: '10s',
  promotionGate: false,
  drift: null,
  outlier: null,
  ...overrides,
});

const info = (registryVersion: number, version: string): ModelInfo => ({
  name: 'dogs-and-cats',
  pipeline: 'dogs-and-cats-model',
  repo: 'dogs-and-cats',
  version,
  registryVersion,
  checkpointUuid: `uuid-${registryVersion}`,
  experimentId: 10 + registryVersion,
  inputCommit: version,
  baseCommit: null,
  metric: 0.9,
  searcherMetric: 'accuracy',
  smallerIsBetter: false,
});

async function readSdep(name: string): Promise<{ metadata: { annotations: Record<string, string> }; spec: { predictors: { graph: { parameters: { name: string; value: string }[] }; componentSpecs: { spec: { containers: Record<string, unknown>[] } }[] }[] } }> {
  const res = await axios.get(`${h.seldon!.url}/seldon-deploy/api/v1alpha1/namespaces/seldon/seldondeployments/${name}`, { headers: { authorization: `Bearer ${token}` } });
  return res.data;
}

/** Waits for the deploy that wrote `afterResourceVersion` (DeployResult.resourceVersion), as the workflow does. */
const ready = (name: string, afterResourceVersion?: string, timeout = '10s') =>
  run(h.activities, 'waitForDeploymentReady', { deploymentName: name, namespace: 'seldon', timeout, pollInterval: '50ms', afterResourceVersion });

const DEFAULT_OUTCOMES = [
  { name: 'broken-*', state: 'Failed', delayMs: 50, message: 'container crashed: exit code 1' },
  { name: 'slow-*', state: 'Available', delayMs: 60_000 },
];

/** Replaces the emulator's outcome rules (the defaults stay, after the given ones). */
async function setOutcomes(rules: Record<string, unknown>[]): Promise<void> {
  const res = await fetch(`${h.seldon!.url}/__emulator/outcomes`, { method: 'PUT', body: JSON.stringify({ rules: [...rules, ...DEFAULT_OUTCOMES] }) });
  expect(res.status).toBe(200);
}

describe('deployModel', () => {
  test('creates, becomes Available, reports what it replaced, and does not re-apply the same version', async () => {
    expect(await run(h.activities, 'getDeployedModel', { deploymentName: 'dogcat', namespace: 'seldon' })).toBeNull();
    const first = await run(h.activities, 'deployModel', { deployment: settings('dogcat'), modelInfo: info(1, 'c1'.repeat(16)), outputCommit: 'o1' });
    expect(first).toEqual({ deploymentName: 'dogcat', namespace: 'seldon', previous: null, changed: true, resourceVersion: expect.stringMatching(/^\d+$/) });
    expect(await ready('dogcat', first.resourceVersion)).toEqual({ state: 'Available' });

    const sdep = await readSdep('dogcat');
    const container = sdep.spec.predictors[0].componentSpecs[0].spec.containers[0];
    expect(container).toMatchObject({ name: 'dogcat-container', image: 'registry.example/serve:1.0', envFrom: [{ secretRef: { name: 'registry-credentials' } }] });
    expect(JSON.stringify(sdep)).not.toContain('secret"'); // no password value in the resource
    expect(sdep.spec.predictors[0].graph.parameters.map((p) => p.name)).toEqual(['model_name', 'model_version', 'model_registry_version', 'checkpoint_uuid']);

    const deployed = await run(h.activities, 'getDeployedModel', { deploymentName: 'dogcat', namespace: 'seldon' });
    expect(deployed).toEqual({
      deploymentName: 'dogcat',
      namespace: 'seldon',
      modelName: 'dogs-and-cats',
      registryVersion: 1,
      version: 'c1'.repeat(16),
      metric: 0.9,
      outputCommit: 'o1',
      state: 'Available',
    });

    // An update: it must carry the resourceVersion it read (the API refuses it otherwise).
    const second = await run(h.activities, 'deployModel', { deployment: settings('dogcat'), modelInfo: info(2, 'c2'.repeat(16)), outputCommit: 'o2' });
    expect(second).toMatchObject({ changed: true, previous: { registryVersion: 1, outputCommit: 'o1', state: 'Available' } });
    expect(Number(second.resourceVersion)).toBeGreaterThan(Number(first.resourceVersion));
    // A retry of the same deploy (its answer lost) changes nothing, writes nothing and still reports the previous model.
    const retried = await run(h.activities, 'deployModel', { deployment: settings('dogcat'), modelInfo: info(2, 'c2'.repeat(16)), outputCommit: 'o2' });
    expect(retried).toEqual({ deploymentName: 'dogcat', namespace: 'seldon', previous: second.previous, changed: false });
    expect(await ready('dogcat', second.resourceVersion)).toEqual({ state: 'Available' });
    expect(await run(h.activities, 'getDeployedModel', { deploymentName: 'dogcat', namespace: 'seldon' })).toMatchObject({ registryVersion: 2, state: 'Available' });
  });

  test('delete-first deletes and recreates', async () => {
    const first = await run(h.activities, 'deployModel', { deployment: settings('dogcat-df', { strategy: 'delete-first' }), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o1' });
    await ready('dogcat-df', first.resourceVersion);
    const res = await run(h.activities, 'deployModel', { deployment: settings('dogcat-df', { strategy: 'delete-first' }), modelInfo: info(2, 'b'.repeat(32)), outputCommit: 'o2' });
    expect(res).toMatchObject({ changed: true, previous: { registryVersion: 1 } });
    expect(await ready('dogcat-df', res.resourceVersion)).toEqual({ state: 'Available' });
    expect((await readSdep('dogcat-df')).metadata.annotations['continuous-training.io/registry-version']).toBe('2');
  });

  test('a resource Seldon rejects is a non-retryable DeploymentFailed with its message', async () => {
    await expectFailure(
      run(h.activities, 'deployModel', { deployment: settings('Not_A_Valid_Name'), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o' }),
      'DeploymentFailed',
      { nonRetryable: true, message: /Not_A_Valid_Name/ },
    );
  });

  test('an update that loses a race with a status write (409) is read again and re-applied at the new resourceVersion', async () => {
    // What the activity reads: version 1 deployed, at a resourceVersion that moves on with every read.
    const at = (resourceVersion: string) => {
      const sdep = buildSeldonDeployment(settings('raced'), info(1, 'a'.repeat(32)), 'o1', null);
      return { ...sdep, metadata: { ...sdep.metadata, resourceVersion } };
    };
    const conflict = failure(ErrorType.BadRequest, 'PUT …/raced: HTTP 409: the object has been modified', true, { status: 409 });
    const stub = (updates: jest.Mock) => {
      let read = 4;
      const seldon = { readSeldonDeployment: jest.fn(async () => at(String(++read))), updateSeldonDeployment: updates };
      return { seldon } as unknown as Clients;
    };
    const input = { deployment: settings('raced'), modelInfo: info(2, 'b'.repeat(32)), outputCommit: 'o2' };

    const once = jest.fn().mockRejectedValueOnce(conflict).mockResolvedValue({ metadata: { resourceVersion: '9' } });
    // Inside an activity's context, as the worker calls it (it logs its decision).
    const inActivity = (clients: Clients) => mockEnv().env.run(deployModel, clients, input);
    expect(await inActivity(stub(once))).toMatchObject({ changed: true, resourceVersion: '9', previous: { registryVersion: 1 } });
    expect(once.mock.calls.map((c) => (c[2] as { metadata: { resourceVersion: string } }).metadata.resourceVersion)).toEqual(['5', '6']);

    // A resource that keeps changing: retryable, for the activity's next attempt.
    const always = jest.fn().mockRejectedValue(conflict);
    await expectFailure(inActivity(stub(always)), 'Unavailable', { nonRetryable: false, message: /kept changing while it was being updated \(3 conflicts\)/ });
  });

  test('a retry after an injected 503 applies the deployment once', async () => {
    h.seldon!.faults.set({ rules: [{ route: '^POST .*/seldondeployments$', errorRate: 1, status: 503, times: 3 }] });
    const input = { deployment: settings('dogcat-503'), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o' };
    await expectFailure(run(h.activities, 'deployModel', input), 'Unavailable', { nonRetryable: false, message: /503/ });
    expect(await run(h.activities, 'deployModel', input)).toMatchObject({ changed: true, previous: null });
    expect(await run(h.activities, 'deployModel', input)).toMatchObject({ changed: false });
  });
});

describe('waitForDeploymentReady', () => {
  test('a deployment going Failed is a non-retryable DeploymentFailed with the status description', async () => {
    const deployed = await run(h.activities, 'deployModel', { deployment: settings('broken-model'), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o' });
    await expectFailure(ready('broken-model', deployed.resourceVersion), 'DeploymentFailed', { nonRetryable: true, message: /container crashed/ });
  });

  // Seldon Core writes no status.observedGeneration, and an update answers (and shows) the previous status until
  // the controller catches up: a rule keeps the controller away for an hour, so what the waiter sees is that
  // stale status only.
  const neverCatchesUp = (name: string) => ({ name, state: 'Available', staleStatusMs: 3_600_000 });

  test('after an update, the previous Available is not taken for the new rollout', async () => {
    const v1 = await run(h.activities, 'deployModel', { deployment: settings('stale-update'), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o1' });
    await ready('stale-update', v1.resourceVersion);
    await setOutcomes([neverCatchesUp('stale-update')]);
    const v2 = await run(h.activities, 'deployModel', { deployment: settings('stale-update'), modelInfo: info(2, 'b'.repeat(32)), outputCommit: 'o2' });
    // What a reader sees is version 2's spec with version 1's status.
    expect(await run(h.activities, 'getDeployedModel', { deploymentName: 'stale-update', namespace: 'seldon' })).toMatchObject({ registryVersion: 2, state: 'Available' });
    await expectFailure(ready('stale-update', v2.resourceVersion, '300ms'), 'DeploymentFailed', {
      nonRetryable: true,
      message: /not Available after 300ms \(its status was never updated after the deploy\)/,
    });
  });

  test('a rollback waits for its own write: the failed rollout\'s status neither fails nor passes it', async () => {
    await setOutcomes([]);
    const v1 = await run(h.activities, 'deployModel', { deployment: settings('rolled'), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o1' });
    await ready('rolled', v1.resourceVersion);
    await setOutcomes([{ name: 'rolled', state: 'Failed', delayMs: 50, message: 'version 2 crashed' }]);
    const v2 = await run(h.activities, 'deployModel', { deployment: settings('rolled'), modelInfo: info(2, 'b'.repeat(32)), outputCommit: 'o2' });
    await expectFailure(ready('rolled', v2.resourceVersion), 'DeploymentFailed', { nonRetryable: true, message: /version 2 crashed/ });

    // The rollback, with a controller that does not catch up: the status stays version 2's Failed.
    await setOutcomes([neverCatchesUp('rolled')]);
    const back = await run(h.activities, 'deployModel', { deployment: settings('rolled'), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o1' });
    expect(back).toMatchObject({ changed: true, previous: { registryVersion: 2, state: 'Failed' } });
    await expectFailure(ready('rolled', back.resourceVersion, '300ms'), 'DeploymentFailed', {
      nonRetryable: true,
      message: /its status was never updated after the deploy/,
    });

    // Once the controller catches up again, a deploy's wait ends Available, on the status written after it.
    await setOutcomes([]);
    const again = await run(h.activities, 'deployModel', { deployment: settings('rolled'), modelInfo: info(3, 'c'.repeat(32)), outputCommit: 'o3' });
    expect(await ready('rolled', again.resourceVersion)).toEqual({ state: 'Available' });
    expect(await run(h.activities, 'getDeployedModel', { deploymentName: 'rolled', namespace: 'seldon' })).toMatchObject({ registryVersion: 3, state: 'Available' });
  });

  test('not Available within the timeout is a non-retryable DeploymentFailed; a retry keeps the first start time', async () => {
    await run(h.activities, 'deployModel', { deployment: settings('slow-model'), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o' });
    const { env, heartbeats } = mockEnv();
    await expectFailure(run(h.activities, 'waitForDeploymentReady', { deploymentName: 'slow-model', namespace: 'seldon', timeout: '300ms', pollInterval: '50ms' }, env), 'DeploymentFailed', {
      nonRetryable: true,
      message: /not Available after 300ms/,
    });
    // The next attempt resumes the clock from the heartbeat: it times out at once instead of waiting again.
    const { env: retry } = mockEnv({ heartbeatDetails: heartbeats.at(-1), attempt: 2 });
    await expectFailure(run(h.activities, 'waitForDeploymentReady', { deploymentName: 'slow-model', namespace: 'seldon', timeout: '300ms', pollInterval: '10s' }, retry), 'DeploymentFailed', {
      nonRetryable: true,
    });
  });

  test('cancellation is honoured', async () => {
    const { env, heartbeats } = mockEnv();
    const waiting = run(h.activities, 'waitForDeploymentReady', { deploymentName: 'slow-model', namespace: 'seldon', timeout: '1m', pollInterval: '50ms' }, env);
    while (heartbeats.length === 0) await new Promise((r) => setTimeout(r, 10));
    env.cancel();
    await expect(waiting).rejects.toThrow(/CANCELLED/);
  });
});

describe('replaceDetector', () => {
  const detector: DetectorSettings = {
    storageUri: 'gs://bucket/seldon/drift_detector',
    batchSize: 4,
    replyUrl: 'http://seldon-request-logger.seldon-logs',
    protocol: 'seldon.http',
    httpPort: '8080',
    userPermission: 8888,
  };

  async function detectors(kind: string, deployment: string) {
    const res = await axios.get<{ name: string; config: { deployment: Record<string, unknown>; basic: Record<string, unknown> } }[]>(
      `${h.seldon!.url}/seldon-deploy/api/v1alpha1/namespaces/seldon/seldondeployments/${deployment}/monitor/${kind}-detector`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    return res.data;
  }

  test('creates, keeps an identical one, replaces a different one: always exactly one', async () => {
    await run(h.activities, 'deployModel', { deployment: settings('monitored'), modelInfo: info(1, 'a'.repeat(32)), outputCommit: 'o' });
    const input = { kind: 'drift' as const, deploymentName: 'monitored', namespace: 'seldon', settings: detector, modelInfo: info(1, 'a'.repeat(32)) };
    expect(await run(h.activities, 'replaceDetector', input)).toEqual({ name: 'monitored', replaced: false, action: 'created' });
    const created = await detectors('drift', 'monitored');
    expect(created).toHaveLength(1);
    expect(created[0].config.deployment).toMatchObject({
      event_type: 'io.seldon.serving.inference.drift',
      event_source: 'io.seldon.serving.seldon-seldondeployment-monitored-drift',
      http_port: '8080',
      user_permission: 8888,
    });
    expect(created[0].config.basic).toMatchObject({ storage_uri: detector.storageUri, drift_batch_size: '4' });

    expect(await run(h.activities, 'replaceDetector', input)).toEqual({ name: 'monitored', replaced: false, action: 'kept' });
    const changed = { ...input, settings: { ...detector, batchSize: 8 } };
    expect(await run(h.activities, 'replaceDetector', changed)).toEqual({ name: 'monitored', replaced: true, action: 'replaced' });
    const after = await detectors('drift', 'monitored');
    expect(after).toHaveLength(1);
    expect(after[0].config.basic.drift_batch_size).toBe('8');

    const outlier = { ...input, kind: 'outlier' as const, settings: { ...detector, storageUri: 'gs://bucket/seldon/outlier_detector' } };
    await run(h.activities, 'replaceDetector', outlier);
    expect((await detectors('outlier', 'monitored'))[0].config.deployment.event_type).toBe('io.seldon.serving.inference.outlier');
  });
});

test('wrong Seldon client credentials are a non-retryable Unauthenticated', async () => {
  const wrong = createActivities({ ...h.config, seldon: { ...h.config.seldon, clientSecret: 'wrong' } });
  await expectFailure(run(wrong, 'getDeployedModel', { deploymentName: 'dogcat', namespace: 'seldon' }), 'Unauthenticated', {
    nonRetryable: true,
    message: /client_credentials/,
  });
});

test('a token is renewed before it expires', async () => {
  // With 0.2 s tokens the client must fetch a new one for the second call.
  const short = await startHarness({ seldon: { oidc: { tokenTtlSeconds: 0.2 } } });
  try {
    expect(await run(short.activities, 'getDeployedModel', { deploymentName: 'x', namespace: 'seldon' })).toBeNull();
    await new Promise((r) => setTimeout(r, 400));
    expect(await run(short.activities, 'getDeployedModel', { deploymentName: 'x', namespace: 'seldon' })).toBeNull();
  } finally {
    await short.close();
  }
});
