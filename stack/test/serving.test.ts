// The serving image end to end: two versions of the shapes model are trained for real (Determined emulator's
// process runner, data from the Pachyderm emulator) and registered; the Seldon Deploy emulator runs the real
// `seldon-core-microservice ModelServer` for each, which downloads the version's checkpoint with the real
// `determined` SDK, credentials from a secret. Predictions must come from the trained weights: version 1 never
// saw a triangle, version 2 recognizes one. A version that does not exist makes the deployment Failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPachydermEmulator, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { startDeterminedEmulator, type RunningDeterminedEmulator } from '@continuous-training/emulators/determined';
import { startSeldonEmulator, type RunningSeldonEmulator } from '@continuous-training/emulators/seldon/emulator';
import { CheckedSeldonClient } from '@continuous-training/emulators/seldon/checked-client';
import {
  SERVING_DIR,
  VENV_BIN,
  commitFiles,
  createRepo,
  demoBatch,
  pachydermDataConfig,
  probe,
  trainRound,
  venvPython,
  type PachRepo,
} from './python/experiment-support';

const python = venvPython();
const maybe = python ? describe : describe.skip;
const NS = 'seldon';
const IMAGE = 'registry.example/ct/shapes-serving:0.1.0';
const CLASSES = ['circle', 'square', 'triangle'];

interface Prediction {
  data: { names: string[]; ndarray: number[][] };
  meta: { tags?: Record<string, unknown> };
}

type Param = { name: string; type: string; value: string };

/**
 * The SeldonDeployment the workflow creates: the serving image, graph parameters, credentials from a secret.
 * `env` stands in for the image's own ENV (HOME, MODEL_DIR), which a local process does not get.
 */
function deployment(name: string, parameters: Param[], env: { name: string; value: string }[] = []) {
  return {
    apiVersion: 'machinelearning.seldon.io/v1',
    kind: 'SeldonDeployment',
    metadata: { name, namespace: NS },
    spec: {
      name,
      predictors: [
        {
          name: 'default',
          replicas: 1,
          traffic: 100,
          componentSpecs: [
            { spec: { containers: [{ name: `${name}-container`, image: IMAGE, env, envFrom: [{ secretRef: { name: 'determined-credentials' } }] }] } },
          ],
          graph: { name: `${name}-container`, type: 'MODEL', parameters },
        },
      ],
    },
  };
}

maybe('serving image (ModelServer under seldon-core, checkpoint from the Determined registry)', () => {
  let tmp: string;
  let pachd: PachydermEmulator;
  let det: RunningDeterminedEmulator;
  let seldon: RunningSeldonEmulator;
  let client: CheckedSeldonClient;
  const versions: { commit: string; uuid: string }[] = [];
  let triangle: unknown;

  /** The settled status; `after` (the resourceVersion an update wrote) skips the previous status the update left. */
  async function waitFor(name: string, after?: string): Promise<{ state: string; description?: string }> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { body } = await client.call<{ metadata: { resourceVersion: string }; status?: { state: string; description?: string } }>(
        'GET',
        `/namespaces/${NS}/seldondeployments/${name}`,
      );
      const status = body.status;
      if (status && status.state !== 'Creating' && body.metadata.resourceVersion !== after) return status;
      if (Date.now() > deadline) throw new Error(`${name} still ${status?.state} after 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function predict(name: string, body: unknown): Promise<Prediction> {
    const res = await fetch(`${seldon.url}/seldon/${NS}/${name}/api/v1.0/predictions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`prediction failed: HTTP ${res.status}: ${text}`);
    return JSON.parse(text) as Prediction;
  }

  // What a container has of its own: a writable HOME (the SDK's token cache) and a /tmp (seldon-core's
  // multiprocessing leaves its pymp-* dirs there when the process group is killed).
  const containerEnv = () => [
    { name: 'HOME', value: path.join(tmp, 'home') },
    { name: 'TMPDIR', value: path.join(tmp, 'container-tmp') },
  ];

  const label = (p: Prediction) => p.data.names[p.data.ndarray[0].indexOf(Math.max(...p.data.ndarray[0]))];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-serving-'));
    fs.mkdirSync(path.join(tmp, 'home'));
    fs.mkdirSync(path.join(tmp, 'container-tmp'));
    pachd = await startPachydermEmulator({ stateDir: path.join(tmp, 'pachd') });
    det = await startDeterminedEmulator({
      stateDir: path.join(tmp, 'det'),
      runner: 'process',
      python,
      password: 'det-serving-pw',
      delays: { queuedMs: 20, pullingMs: 20, startingMs: 20 },
    });
    seldon = await startSeldonEmulator({
      stateDir: path.join(tmp, 'seldon'),
      availableDelayMs: 0,
      readinessTimeoutMs: 60_000,
      // The serving image's CMD, run from the image's working directory (serving/).
      runtimes: [{ image: IMAGE, command: [path.join(VENV_BIN, 'seldon-core-microservice'), 'ModelServer', '--service-type', 'MODEL'], cwd: SERVING_DIR }],
      secrets: { [`${NS}/determined-credentials`]: { DET_MASTER: det.url, DET_USER: 'determined', DET_PASSWORD: 'det-serving-pw' } },
    });
    client = new CheckedSeldonClient(seldon.url);
    await client.login();

    const repo: PachRepo = { url: pachd.url, project: 'default', repo: 'shapes' };
    await createRepo(repo);
    const login = { url: det.url, user: 'determined', password: 'det-serving-pw' };
    for (const batch of [1, 2] as const) {
      const commit = await commitFiles(repo, await demoBatch(python as string, batch, path.join(tmp, `batch${batch}`)));
      const { code, result, stderr } = await trainRound(python as string, login, 'shapes', pachydermDataConfig(repo, commit));
      if (code !== 0 || !result?.checkpoint_uuid) throw new Error(`training batch ${batch} failed: ${stderr}`);
      versions.push({ commit, uuid: result.checkpoint_uuid });
    }
    triangle = await probe(python as string, 'triangle');
  });

  afterAll(async () => {
    await seldon?.close();
    await det?.close();
    await pachd?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  let v1: Prediction;

  it('serves version 1 (by name and registry number): it has never seen a triangle', async () => {
    const { status } = await client.call('POST', `/namespaces/${NS}/seldondeployments`, deployment('shapes', [
      { name: 'model_name', type: 'STRING', value: 'shapes' },
      { name: 'model_version', type: 'STRING', value: versions[0].commit },
      { name: 'model_registry_version', type: 'INT', value: '1' },
    ], [...containerEnv(), { name: 'MODEL_DIR', value: path.join(tmp, 'models') }]));
    expect(status).toBe(200);
    expect(await waitFor('shapes')).toMatchObject({ state: 'Available' });

    v1 = await predict('shapes', triangle);
    expect(v1.data.names).toEqual(CLASSES);
    expect(v1.meta.tags).toEqual({ model_name: 'shapes', model_version: versions[0].commit, model_registry_version: 1, checkpoint_uuid: versions[0].uuid });
    expect(v1.data.ndarray[0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // The checkpoint went where the image's MODEL_DIR says, with the model code that travels with it.
    expect(fs.existsSync(path.join(tmp, 'models', versions[0].uuid, 'code', 'shapes_model.py'))).toBe(true);
    expect(label(v1)).not.toBe('triangle');
  });

  it('serves version 2 after a rolling update: the continued training taught it triangles', async () => {
    const { body: current } = await client.call<ReturnType<typeof deployment>>('GET', `/namespaces/${NS}/seldondeployments/shapes`);
    current.spec.predictors[0].graph.parameters = [
      { name: 'model_name', type: 'STRING', value: 'shapes' },
      { name: 'model_version', type: 'STRING', value: versions[1].commit },
    ];
    // `current` carries the resourceVersion it was read at, as an update must.
    const updated = await client.call<{ metadata: { resourceVersion: string } }>('PUT', `/namespaces/${NS}/seldondeployments/shapes`, current);
    expect(updated.status).toBe(200);
    expect(await waitFor('shapes', updated.body.metadata.resourceVersion)).toMatchObject({ state: 'Available' });

    const v2 = await predict('shapes', triangle);
    expect(v2.meta.tags).toMatchObject({ model_version: versions[1].commit, model_registry_version: 2, checkpoint_uuid: versions[1].uuid });
    expect(label(v2)).toBe('triangle');
    expect(v2.data.ndarray[0][2]).toBeGreaterThan(0.5);
    // Same input, other weights: the answer comes from the checkpoint, not from the code.
    expect(v2.data.ndarray[0]).not.toEqual(v1.data.ndarray[0]);
    // A batch of rows works too (one 16x16 image flattened per row).
    const flat = ((triangle as { data: { ndarray: number[][][] } }).data.ndarray[0]).flat();
    const batch = await predict('shapes', { data: { ndarray: [flat, flat] } });
    expect(batch.data.ndarray).toHaveLength(2);
    expect(batch.data.ndarray[0][2]).toBeCloseTo(v2.data.ndarray[0][2], 9);
  });

  it('fails the deployment when the version does not exist (the microservice exits non-zero)', async () => {
    await client.call('POST', `/namespaces/${NS}/seldondeployments`, deployment('shapes-missing', [
      { name: 'model_name', type: 'STRING', value: 'shapes' },
      { name: 'model_version', type: 'STRING', value: 'no-such-commit' },
    ], containerEnv()));
    const status = await waitFor('shapes-missing');
    expect(status.state).toBe('Failed');
    expect(status.description).toContain("model 'shapes' has no version with name 'no-such-commit'");
  });
});
