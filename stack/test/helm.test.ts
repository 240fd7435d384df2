// The Helm chart (deploy/helm/continuous-training). No cluster runs here, so a real Helm (v3.22.0, built from
// the Go module proxy by scripts/install-helm.sh) renders it and the tests read what it renders:
//   - `helm lint --strict` and `helm template` for the default values and for each `helm install` of README's
//     Kubernetes section (run as `helm template`; the Secrets it reads are the ones created there);
//   - every object against the Kubernetes schemas of the three newest minor versions that kubernetes-validate
//     ships, in strict mode (an unknown field is an error), and the ServiceMonitor against its vendored CRD;
//   - no secret value anywhere, the worker's termination grace >= its shutdown grace, the Dockerfile's image
//     and arguments, non-root read-only pods without API access, NetworkPolicy ports from the addresses;
//   - bad values refused by values.schema.json with a message naming the value;
//   - the probes, on the real worker and watcher started with the environment the chart gives them;
//   - deploy/pachyderm/*.json use the chart's image, Secret, mount path, profile and task queue.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import yaml from 'js-yaml';
import Ajv from 'ajv';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLocalEnv } from 'continuous-training/test/helpers/temporal';
import { ctCommandLine, productBuildPath } from 'continuous-training/test/helpers/product-build';
import { testWorkflowBundlePath } from 'continuous-training/test/helpers/workflow-bundle';
import { freePort } from './helpers/browser';
import { loadPipelinesConfig } from 'continuous-training/client/pipelines-config';
import { parseDuration } from 'continuous-training/common/duration';

const root = path.resolve(__dirname, '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');
const CHART = 'deploy/helm/continuous-training';
const helmBin = process.env.CT_HELM || path.join(root, '.cache/bin/helm');
const validatorPath = path.join(root, '.venv/kubernetes-validate');
const isCI = process.env.CI === 'true';
const toolsMissing = [helmBin, validatorPath].filter((p) => !fs.existsSync(p));
// The tools come from scripts/setup.sh --for-tests: without them the tests are skipped here and fail under CI.
const describeWithTools = toolsMissing.length === 0 || isCI ? describe : describe.skip;
if (toolsMissing.length && !isCI) console.warn(`Helm chart tests skipped: run scripts/setup.sh --for-tests (missing ${toolsMissing.join(', ')})`);

type Obj = Record<string, unknown>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args: string[];
  env: EnvVar[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  volumeMounts: { name: string; mountPath: string }[];
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Obj & { template?: { spec: PodSpec } };
  data?: Record<string, string>;
  automountServiceAccountToken?: boolean;
}

function helm(args: string[]) {
  const r = spawnSync(helmBin, args, { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template ct <chart> ...args`, as objects; throws with Helm's message when it refuses. */
function render(args: string[]): K8sObject[] {
  const r = helm(['template', 'ct', CHART, ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')}: ${r.stderr}`);
  return (yaml.loadAll(r.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => !!o);
}

const component = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];
function deployment(objects: K8sObject[], name: 'worker' | 'watcher'): PodSpec {
  const d = objects.find((o) => o.kind === 'Deployment' && component(o) === name);
  if (!d?.spec?.template) throw new Error(`no ${name} Deployment`);
  return d.spec.template.spec;
}
const envOf = (c: Container) => Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

/** The Dockerfile's CMD, the worker's command line in the image. */
function dockerfileCmd(): string[] {
  const cmd = read('Dockerfile').split('\n').filter((l) => l.startsWith('CMD ')).pop();
  return JSON.parse(cmd!.slice(4)) as string[];
}

// ------------------------------------------------------------------ README's Kubernetes section

interface ReadmeInstall {
  command: string;
  /** What follows the chart in `helm install ct <chart> ...`. */
  args: string[];
  /** Secrets created before it: those of the section's first block, and of its own block. */
  secrets: Map<string, Set<string>>;
}

/** The `helm install` commands of README's Kubernetes section and the `kubectl create secret`s before them. */
function readmeInstalls(): ReadmeInstall[] {
  const readme = read('README.md');
  const start = readme.indexOf('\n## Kubernetes\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1].replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter(Boolean),
  );
  const common = new Map<string, Set<string>>();
  const installs: ReadmeInstall[] = [];
  for (const [i, lines] of blocks.entries()) {
    const secrets = i === 0 ? common : new Map(common);
    for (const line of lines) {
      const words = line.split(/\s+/);
      if (words[0] === 'kubectl' && words.includes('secret') && words.includes('create')) {
        const keys = words
          .filter((w) => w.startsWith('--from-literal=') || w.startsWith('--from-file='))
          .map((w) => {
            const [flag, ...rest] = w.split('=');
            return flag === '--from-literal' || rest.length > 1 ? rest[0] : path.basename(rest[0]);
          });
        secrets.set(words[words.indexOf('generic') + 1], new Set(keys));
      }
      if (words[0] === 'helm' && words[1] === 'install') {
        if (words[2] !== 'ct' || words[3] !== CHART) throw new Error(`README: expected helm install ct ${CHART}: ${line}`);
        installs.push({ command: line, args: words.slice(4), secrets });
      }
    }
  }
  return installs;
}

// ------------------------------------------------------------------ strict validation

interface Validation {
  versions: string[];
  results: { kind: string; name: string; version: string; error: string | null }[];
}

/** test/helm/validate_manifests.py: every object against kubernetes-validate's strict schemas. */
function validateStrict(objects: K8sObject[]): Validation {
  const r = spawnSync(path.join(root, '.venv/bin/python'), [path.join(__dirname, 'helm/validate_manifests.py')], {
    input: JSON.stringify({ objects, versions: 3 }),
    env: { ...process.env, PYTHONPATH: validatorPath },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`validate_manifests.py: ${r.stderr}`);
  return JSON.parse(r.stdout) as Validation;
}

/**
 * The vendored CRD's schema (test/helm/servicemonitor-crd, see SOURCE.md), made strict as the API server's
 * field validation is: a property it does not declare is an error, unless the schema keeps unknown fields.
 */
function serviceMonitorValidator() {
  const crd = yaml.load(fs.readFileSync(path.join(__dirname, 'helm/servicemonitor-crd/monitoring.coreos.com_servicemonitors.yaml'), 'utf8')) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Obj } }[] };
  };
  const strict = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strict);
    if (!node || typeof node !== 'object') return node;
    const o = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as Obj).map(([p, s]) => [p, strict(s)])) : strict(v)])) as Obj;
    if (o.properties && o.additionalProperties === undefined && !o['x-kubernetes-preserve-unknown-fields']) o.additionalProperties = false;
    return o;
  };
  const schema = strict(crd.spec.versions.find((v) => v.name === 'v1')!.schema.openAPIV3Schema) as Obj;
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
  return (value: unknown) => (validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`));
}

// ------------------------------------------------------------------ the tests

describeWithTools('the Helm chart', () => {
  beforeAll(() => {
    if (toolsMissing.length) throw new Error(`missing ${toolsMissing.join(', ')} under CI=true: scripts/setup.sh --for-tests installs them`);
  });

  test('Helm is the version scripts/install-helm.sh pins, built to assume a current Kubernetes', () => {
    expect(helm(['version', '--short']).stdout).toMatch(/^v3\.22\.0/);
    // Without the ldflags of Helm's Makefile it would assume Kubernetes 1.20, which the chart's kubeVersion refuses.
    expect(read(`${CHART}/Chart.yaml`)).toMatch(/^kubeVersion: ">=1\.25\.0-0"$/m);
    expect(render([]).length).toBeGreaterThan(5);
  });

  const installs = readmeInstalls();
  const cases: [string, string[]][] = [
    ['the default values', []],
    ...installs.map((i): [string, string[]] => [i.command.replace(/^helm install ct \S+ /, ''), i.args]),
    ['the password grant, a CA bundle, a Pachyderm token, metrics and policies', ['--set', 'seldon.grant=password', '--set', 'caBundle.secretName=ct-ca', '--set', 'pachyderm.tokenSecretName=ct-pachyderm', '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'networkPolicy.enabled=true']],
  ];

  test("README's Kubernetes section installs for self-hosted Temporal, mTLS, Temporal Cloud and an envconfig profile", () => {
    expect(installs.map((i) => i.args.join(' '))).toEqual([
      expect.stringContaining('--set temporal.address='),
      expect.stringContaining('-f deploy/helm/examples/self-hosted-mtls.yaml'),
      expect.stringContaining('-f deploy/helm/examples/temporal-cloud.yaml'),
      expect.stringContaining('--set temporal.envconfig.secretName=ct-temporal'),
    ]);
    // The first sets the three systems' addresses.
    for (const system of ['pachyderm.url=', 'determined.url=', 'seldon.url=']) expect(installs[0].args.join(' ')).toContain(system);
  });

  test.each(cases)('helm lint --strict: %s', (_name, args) => {
    const r = helm(['lint', '--strict', CHART, ...args]);
    expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  describe.each(cases)('rendered with %s', (_name, args) => {
    const objects = render(args);
    const pods = objects.filter((o) => o.kind === 'Deployment').map((o) => o.spec!.template!.spec);
    const containers = pods.flatMap((p) => p.containers);

    test('every object is valid in strict mode on the three newest Kubernetes versions, the ServiceMonitor against its CRD', () => {
      const { versions, results } = validateStrict(objects);
      expect(versions).toHaveLength(3);
      expect(results).toHaveLength(objects.length * 3);
      expect(results.filter((r) => r.error !== null && !(r.kind === 'ServiceMonitor' && r.error === 'no schema'))).toEqual([]);
      const validate = serviceMonitorValidator();
      for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor')) {
        expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
        expect(validate(monitor)).toEqual([]);
      }
    });

    test('no secret value: no Secret object, every secret variable from a secretKeyRef, nothing secret in the ConfigMap', () => {
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      const secretVars = containers.flatMap((c) => c.env).filter((e) => /PASSWORD|SECRET|TOKEN|API_KEY/.test(e.name));
      for (const v of secretVars) expect({ [v.name]: v.value }).toEqual({ [v.name]: undefined });
      for (const v of secretVars) expect(v.valueFrom?.secretKeyRef?.name).toMatch(/^[a-z0-9][-a-z0-9.]*$/);
      for (const map of objects.filter((o) => o.kind === 'ConfigMap')) {
        const keys = JSON.stringify(yaml.load(Object.values(map.data ?? {}).join('\n'))).match(/"[^"]*(password|token|apiKey|api_key|clientSecret)[^"]*":/gi);
        expect(keys).toBeNull();
      }
    });

    test("the worker's termination grace is longer than its shutdown grace (CT_SHUTDOWN_GRACE)", () => {
      const worker = deployment(objects, 'worker');
      const grace = parseDuration(envOf(worker.containers[0]).CT_SHUTDOWN_GRACE);
      expect(grace).not.toBeNull();
      expect(worker.terminationGracePeriodSeconds).toBeGreaterThan(grace! / 1000);
    });

    test("the worker runs the Dockerfile's CMD under its ENTRYPOINT; the watcher runs `ct watch` on the mounted pipelines", () => {
      const worker = deployment(objects, 'worker').containers[0];
      expect(worker.command).toBeUndefined(); // the ENTRYPOINT (tini) stays PID 1 and forwards SIGTERM
      expect(worker.args).toEqual(dockerfileCmd());
      const watcherPod = deployment(objects, 'watcher');
      const watcher = watcherPod.containers[0];
      expect(watcher.image).toBe(worker.image);
      expect(watcher.command).toBeUndefined();
      expect(watcher.args.slice(0, 3)).toEqual(['ct', 'watch', '--config']);
      // `ct` is the product's bin, linked onto the image's PATH.
      const product = JSON.parse(read('product/package.json')) as { bin: Record<string, string> };
      expect(read('Dockerfile')).toContain(`ln -s /app/product/${product.bin.ct} /usr/local/bin/ct`);
      // The config file is the ConfigMap's key, where its volume is mounted.
      const config = watcher.args[3];
      const mount = watcher.volumeMounts.find((m) => config.startsWith(`${m.mountPath}/`));
      const volume = watcherPod.volumes.find((v) => v.name === mount?.name);
      const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume?.configMap?.name);
      expect(Object.keys(configMap?.data ?? {})).toContain(path.basename(config));
    });

    test('the pipelines ConfigMap is a valid pipelines file', () => {
      const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-helm-')), 'pipelines.yaml');
      fs.writeFileSync(file, configMap.data!['pipelines.yaml']);
      expect(loadPipelinesConfig(file).length).toBeGreaterThan(0);
    });

    test('probes on /healthz and /readyz at the port of CT_HEALTH_ADDRESS', () => {
      for (const c of containers) {
        const port = Number(envOf(c).CT_HEALTH_ADDRESS.split(':').pop());
        expect(c.ports.find((p) => p.name === c.livenessProbe.httpGet.port)?.containerPort).toBe(port);
        expect([c.livenessProbe.httpGet, c.readinessProbe.httpGet]).toEqual([
          { path: '/healthz', port: 'health' },
          { path: '/readyz', port: 'health' },
        ]);
      }
    });

    test('non-root, read-only root file system, no capabilities, no Kubernetes API access', () => {
      expect(objects.filter((o) => /Role|Binding/.test(o.kind))).toEqual([]);
      for (const sa of objects.filter((o) => o.kind === 'ServiceAccount')) expect(sa.automountServiceAccountToken).toBe(false);
      expect(pods).toHaveLength(2);
      for (const pod of pods) {
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.securityContext.runAsNonRoot).toBe(true);
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        for (const c of pod.containers) {
          expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
          expect(c.securityContext.capabilities?.add).toBeUndefined();
        }
      }
    });

    test('NetworkPolicies: egress to each system on the port of its address, DNS, nothing else by default', () => {
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
      const enabled = args.some((a) => a.startsWith('deploy/helm/examples/') || a === 'networkPolicy.enabled=true');
      expect(policies.map(component)).toEqual(enabled ? ['worker', 'watcher'] : []);
      if (!enabled) return;
      const worker = deployment(objects, 'worker').containers[0];
      const env = envOf(worker);
      const portOf = (url: string) => Number(new URL(url).port || (url.startsWith('https:') ? 443 : 80));
      const egressPorts = (name: string) =>
        ((policies.find((p) => component(p) === name)?.spec?.egress ?? []) as { ports: { port: number }[] }[]).flatMap((rule) => rule.ports.map((p) => p.port));
      const temporalPort = Number((env.TEMPORAL_ADDRESS ?? '').split(':').pop());
      const expected = [53, 53, temporalPort, portOf(env.PACHD_URL), portOf(env.DET_MASTER), portOf(env.SELDON_URL)];
      expect(egressPorts('worker').slice(0, 6)).toEqual(expected);
      expect(egressPorts('watcher')).toEqual(expected.slice(0, 4));
      const workerPolicy = policies.find((p) => component(p) === 'worker')!;
      expect(workerPolicy.spec?.ingress).toEqual([expect.objectContaining({ ports: [{ port: 'metrics', protocol: 'TCP' }] })]);
    });
  });

  test.each(installs.map((i) => [i.args.join(' '), i] as const))('README: the Secrets read by `helm install ct %s` are created before it', (_args, install) => {
    const objects = render(install.args);
    const needed: string[] = [];
    for (const pod of objects.filter((o) => o.kind === 'Deployment').map((o) => o.spec!.template!.spec)) {
      for (const c of pod.containers) {
        for (const e of c.env) if (e.valueFrom?.secretKeyRef) needed.push(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
        // A file of a mounted Secret, named by a variable (TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_CONFIG_FILE, ...).
        for (const m of c.volumeMounts) {
          const secret = pod.volumes.find((v) => v.name === m.name)?.secret?.secretName;
          if (!secret) continue;
          for (const e of c.env) if (e.value?.startsWith(`${m.mountPath}/`)) needed.push(`${secret}/${e.value.slice(m.mountPath.length + 1)}`);
        }
      }
    }
    expect(needed.length).toBeGreaterThan(1);
    const created = [...install.secrets].flatMap(([name, keys]) => [...keys].map((k) => `${name}/${k}`));
    expect([...new Set(needed)].filter((n) => !created.includes(n))).toEqual([]);
  });

  test('the default pipelines are config/pipelines.example.yaml', () => {
    const values = yaml.load(read(`${CHART}/values.yaml`)) as { pipelines: unknown };
    expect(values.pipelines).toEqual((yaml.load(read('config/pipelines.example.yaml')) as { pipelines: unknown }).pipelines);
  });

  test('a longer shutdown grace lengthens the termination grace', () => {
    const worker = deployment(render(['--set', 'worker.shutdownGraceSeconds=600']), 'worker');
    expect(envOf(worker.containers[0]).CT_SHUTDOWN_GRACE).toBe('600s');
    expect(worker.terminationGracePeriodSeconds).toBeGreaterThan(600);
  });

  test('the CRD check rejects an unknown field and a wrong type', () => {
    const monitor = render(['--set', 'metrics.serviceMonitor.enabled=true']).find((o) => o.kind === 'ServiceMonitor')!;
    const validate = serviceMonitorValidator();
    expect(validate(monitor)).toEqual([]);
    const broken = structuredClone(monitor) as unknown as { spec: { endpoints: Obj[] } };
    broken.spec.endpoints[0].intervall = '30s';
    broken.spec.endpoints[0].honorLabels = 'yes';
    expect(validate(broken)).toEqual([expect.stringContaining('must NOT have additional properties'), expect.stringContaining('must be boolean')]);
  });

  test.each([
    ['determined.secretName=', "at '/determined/secretName'"],
    ['seldon.secretName=', "at '/seldon/secretName'"],
    ['temporal.apiKey.secretName=Not_A_Secret', "at '/temporal/apiKey/secretName'"],
    ['watcher.replicas=0', "at '/watcher/replicas': minimum: got 0, want 1"],
    ['watcher.replicas=2', "at '/watcher/replicas': maximum: got 2, want 1"],
    ['temporal.address=temporal.example.com', "at '/temporal/address': 'temporal.example.com' does not match pattern"],
    ['temporal.address=https://temporal.example.com:7233', "at '/temporal/address'"],
    ['pachyderm.url=pachd:1650', "at '/pachyderm/url'"],
    // There is no value for a secret: the schema refuses one.
    ['determined.password=hunter2', "at '/determined': additional properties 'password' not allowed"],
    ['worker.shutdownGraceSeconds=0', "at '/worker/shutdownGraceSeconds'"],
  ])('values.schema.json refuses --set %s, naming it', (set, message) => {
    const r = helm(['template', 'ct', CHART, '--set', set]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toContain(message);
  });

  test.each([
    [['temporal.envconfig.secretName=ct-temporal', 'temporal.apiKey.secretName=ct-temporal'], 'temporal.apiKey.secretName must be empty with temporal.envconfig.secretName'],
    [['temporal.tls.secretName=ct-tls', 'temporal.tls.keyKey='], 'temporal.tls.certKey and temporal.tls.keyKey go together'],
  ])('the chart refuses settings that exclude each other: %s', (sets, message) => {
    const r = helm(['template', 'ct', CHART, ...sets.flatMap((s) => ['--set', s])]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  test('deploy/pachyderm/*.json use the chart image and its envconfig Secret, mount path, profile, task queue, pachd and token Secret', () => {
    const objects = render(['--set', 'temporal.envconfig.secretName=ct-temporal', '--set', 'pachyderm.tokenSecretName=ct-pachyderm']);
    const pod = deployment(objects, 'worker');
    const worker = pod.containers[0];
    const mount = worker.volumeMounts.find((m) => pod.volumes.find((v) => v.name === m.name)?.secret?.secretName === 'ct-temporal')!;
    const env = envOf(worker);
    expect(env.TEMPORAL_CONFIG_FILE.startsWith(`${mount.mountPath}/`)).toBe(true);
    for (const file of ['training-trigger.json', 'deployment-trigger.json']) {
      const spec = JSON.parse(read(`deploy/pachyderm/${file}`)) as { transform: { image: string; env: Record<string, string>; secrets: Obj[] } };
      expect(spec.transform.image).toBe(worker.image);
      expect(spec.transform.env).toEqual({
        TEMPORAL_CONFIG_FILE: env.TEMPORAL_CONFIG_FILE,
        TEMPORAL_PROFILE: env.TEMPORAL_PROFILE,
        CT_TASK_QUEUE: env.CT_TASK_QUEUE,
        PACHD_URL: env.PACHD_URL,
      });
      const token = worker.env.find((e) => e.name === 'PACHD_TOKEN')?.valueFrom?.secretKeyRef;
      expect(spec.transform.secrets).toEqual([
        { name: 'ct-temporal', mountPath: mount.mountPath },
        { name: token?.name, key: token?.key, envVar: 'PACHD_TOKEN' },
      ]);
    }
  });
});

// ------------------------------------------------------------------ the probes, on the real processes

describeWithTools('the probes, on the worker and the watcher started with the chart environment', () => {
  let env: TestWorkflowEnvironment;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-helm-probes-'));
  const objects = toolsMissing.length ? [] : render([]);
  // A stand-in for pachd's SubscribeCommit: the stream of `existingRepo` opens (and stays open, with no
  // commit yet); any other repo is not found, as an output repo is before a pipeline's first model.
  let existingRepo = '';
  const subscribed: string[] = [];
  const pachd = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const repo = (JSON.parse(body || '{}') as { repo?: { name?: string } }).repo?.name;
      if (req.url === '/api/pfs_v2.API/SubscribeCommit' && repo === existingRepo) {
        subscribed.push(repo);
        res.writeHead(200, { 'content-type': 'application/json' }).write('');
      }
      else res.writeHead(404).end(JSON.stringify({ message: `repo ${repo} not found` }));
    });
  });
  let pachdUrl = '';

  beforeAll(async () => {
    env = await createLocalEnv();
    await new Promise<void>((resolve) => pachd.listen(0, '127.0.0.1', resolve));
    pachdUrl = `http://127.0.0.1:${(pachd.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    pachd.closeAllConnections();
    pachd.close();
    await env?.teardown();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The container's environment as the chart sets it, a stand-in for each Secret's value, and the overrides. */
  function chartEnv(c: Container, overrides: Record<string, string>): Record<string, string> {
    const fromChart = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? `from-secret-${e.valueFrom?.secretKeyRef?.key}`]));
    return { PATH: process.env.PATH ?? '', HOME: tmp, ...fromChart, ...overrides };
  }

  /**
   * A process from the chart's arguments, as the image runs them from its WORKDIR (the product's folder), on
   * the test run's compiled product in place of the image's build/: `node ...` as is, `ct ...` as the `ct` bin,
   * with the image's CT_WORKFLOW_BUNDLE (the Dockerfile's ENV; here the run's bundle, built the same way).
   */
  function start(args: string[], childEnv: Record<string, string>) {
    expect(['node', 'ct']).toContain(args[0]);
    const build = productBuildPath();
    const argv = args[0] === 'ct' ? [ctCommandLine()[1], ...args.slice(1)] : args.slice(1).map((a) => a.replace(/^build\//, `${build}/`));
    const env = { CT_WORKFLOW_BUNDLE: testWorkflowBundlePath(), ...childEnv };
    const child = spawn(process.execPath, argv, { cwd: path.join(root, 'product'), env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, stderr: () => stderr };
  }

  /** GETs `path` until `until` holds for the answer (bounded), then returns the last answer. */
  async function poll(url: string, until: (status: number, body: string) => boolean, what: () => string) {
    let last = { status: 0, body: '' };
    for (let i = 0; i < 600; i++) {
      try {
        const res = await fetch(url);
        last = { status: res.status, body: await res.text() };
        if (until(last.status, last.body)) return last;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${url}: last answer ${JSON.stringify(last)}\n${what()}`);
  }

  /** The rendered pipelines file, where the watcher of `c` reads it here. */
  function writePipelines(c: Container): string {
    const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
    const config = path.join(tmp, 'pipelines.yaml');
    fs.writeFileSync(config, configMap.data![path.basename(c.args[3])]);
    return config;
  }

  function probeUrls(c: Container, healthPort: number) {
    return { live: `http://127.0.0.1:${healthPort}${c.livenessProbe.httpGet.path}`, ready: `http://127.0.0.1:${healthPort}${c.readinessProbe.httpGet.path}` };
  }

  test('worker: alive, then ready once it runs on Temporal; exits 0 on SIGTERM', async () => {
    const c = deployment(objects, 'worker').containers[0];
    const healthPort = await freePort();
    const childEnv = chartEnv(c, {
      TEMPORAL_ADDRESS: env.address,
      PACHD_URL: 'http://127.0.0.1:1',
      DET_MASTER: 'http://127.0.0.1:1',
      SELDON_URL: 'http://127.0.0.1:1',
      CT_CACHE_DIR: path.join(tmp, 'cache'),
      CT_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
      CT_HEALTH_ADDRESS: `127.0.0.1:${healthPort}`,
    });
    expect(c.args).toEqual(['node', '--max-semi-space-size=2', 'build/worker/main.js']);
    const w = start(c.args, childEnv);
    try {
      const urls = probeUrls(c, healthPort);
      expect((await poll(urls.live, (s) => s === 200, w.stderr)).body).toBe('ok\n');
      expect(await poll(urls.ready, (s) => s === 200, w.stderr)).toEqual({ status: 200, body: 'ready\n' });
      const started = JSON.parse(w.stderr().split('\n').find((l) => l.includes('"worker started"'))!) as Obj;
      expect(started).toMatchObject({ shutdownGrace: childEnv.CT_SHUTDOWN_GRACE, namespace: childEnv.TEMPORAL_NAMESPACE });
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
  }, 180_000);

  test('watcher: alive but not ready while pachd cannot be reached', async () => {
    const c = deployment(objects, 'watcher').containers[0];
    const config = writePipelines(c);
    const healthPort = await freePort();
    const w = start([...c.args.slice(0, 3), config], chartEnv(c, { TEMPORAL_ADDRESS: env.address, PACHD_URL: `http://127.0.0.1:${await freePort()}`, CT_HEALTH_ADDRESS: `127.0.0.1:${healthPort}` }));
    try {
      const urls = probeUrls(c, healthPort);
      expect((await poll(urls.live, (s) => s === 200, w.stderr)).status).toBe(200);
      const notReady = await poll(urls.ready, (_s, body) => body.includes(' down'), w.stderr);
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatch(/^not subscribed: .*default\/shapes(-model)?@master down/);
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
  }, 120_000);

  test('watcher: alive, then ready once Temporal answers and every stream is open or waits for its repo', async () => {
    const c = deployment(objects, 'watcher').containers[0];
    const config = writePipelines(c);
    // The input repo exists (its stream opens); the output repo does not yet (its stream waits for it).
    const [pipeline] = loadPipelinesConfig(config);
    existingRepo = pipeline.input.repo;
    const healthPort = await freePort();
    const w = start([...c.args.slice(0, 3), config], chartEnv(c, { TEMPORAL_ADDRESS: env.address, PACHD_URL: pachdUrl, CT_HEALTH_ADDRESS: `127.0.0.1:${healthPort}` }));
    try {
      const urls = probeUrls(c, healthPort);
      expect((await poll(urls.live, (s) => s === 200, w.stderr)).body).toBe('ok\n');
      expect(await poll(urls.ready, (s) => s === 200, w.stderr)).toEqual({ status: 200, body: 'ready\n' });
      expect(subscribed).toEqual([pipeline.input.repo]);
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
  }, 120_000);
});
