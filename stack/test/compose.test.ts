// docker-compose.yml, the Dockerfile and the Pachyderm pipeline specs cannot run here (no Docker engine,
// no Kubernetes), so they are checked statically against their real schemas and against the project:
//   - docker-compose.yml against the Compose Specification's JSON schema, after interpolating every
//     ${VARIABLE} with the values of deploy/.env.example (what a user's .env starts from);
//   - every file, build context, Dockerfile and mounted path it names exists, every ${VARIABLE} is
//     documented in deploy/.env.example with the same default, and every setting the worker reads from
//     the environment (activities/config.ts, worker/temporal-config.ts, worker/main.ts) is wired;
//   - the Temporal setup registers exactly our search attributes; startup order; emulator wiring;
//   - the Dockerfile and .dockerignore (non-root, no secrets, production dependencies only);
//   - deploy/pachyderm/*.json against Pachyderm's CreatePipelineRequest schema and config/pipelines.example.yaml.
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import Ajv, { type AnySchema, type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { ALL_SEARCH_ATTRIBUTES } from 'continuous-training/common/search-attributes';
import { temporalCliPath } from 'continuous-training/scripts/temporal-binaries';
import { CT_SEARCH_ATTRIBUTES, TEMPORAL_SERVER_VERSION, UI_SERVER_VERSION } from '../temporal-cluster';
import { postgresBinDir } from '../postgres';
import { API_SPECS_DIR } from '@continuous-training/emulators/common/specs';
import { loadPipelinesConfig, findPipeline } from 'continuous-training/client/pipelines-config';

const root = path.resolve(__dirname, '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');
const isCI = process.env.CI === 'true';

type Obj = Record<string, unknown>;
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  env_file?: unknown;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// ------------------------------------------------------------------ helpers

/** deploy/.env.example as KEY -> value (empty string when documented without a value). */
function envExample(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of read('deploy/.env.example').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars.set(m[1], m[2]);
  }
  return vars;
}

/** Every ${NAME...} of a Compose file, with its default when it has one (`$${...}` is an escaped dollar). */
function variableReferences(text: string): { name: string; op: string; arg: string }[] {
  const refs: { name: string; op: string; arg: string }[] = [];
  const re = /(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g;
  const code = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#')) // comments are not interpolated
    .join('\n');
  for (const m of code.matchAll(re)) {
    if (m[1] === '$') continue; // $${X}: a literal ${X} for the container's shell
    refs.push({ name: m[2], op: m[3] ?? '', arg: m[4] ?? '' });
  }
  return refs;
}

/** Compose's interpolation of one string, for the forms the file uses: ${X}, ${X:-d}, ${X-d}, ${X:?e}, ${X?e}, $$. */
function interpolate(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === '$$') return '$';
    const value = vars.get(name!);
    const empty = value === undefined || (op?.startsWith(':') && value === '');
    switch (op) {
      case ':-':
      case '-':
        return empty ? (arg ?? '') : value!;
      case ':?':
      case '?':
        if (empty) throw new Error(`${name} is required: ${arg}`);
        return value!;
      case ':+':
      case '+':
        return empty ? '' : (arg ?? '');
      default:
        return value ?? '';
    }
  });
}

/** Like Compose: parse the YAML (anchors and merge keys resolved), then interpolate every string value. */
function loadCompose(vars: Map<string, string>): ComposeFile {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return interpolate(node, vars);
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  return walk(yaml.load(read('docker-compose.yml'))) as ComposeFile;
}

/**
 * The Compose Specification schema (compose-spec.json, draft 2020-12) as vendored by PyPI's check-jsonschema:
 * CT_COMPOSE_SCHEMA names the file, else it is looked for where setup installs that package
 * (`.venv/tools`, with --no-deps: its dependencies conflict with seldon-core's) or in a venv's site-packages.
 */
function composeSchemaPath(): string | undefined {
  const vendored = 'check_jsonschema/builtin_schemas/vendor/compose-spec.json';
  const candidates = [process.env.CT_COMPOSE_SCHEMA, path.join(root, '.venv/tools', vendored)];
  const lib = path.join(root, '.venv/lib');
  if (fs.existsSync(lib)) for (const py of fs.readdirSync(lib)) candidates.push(path.join(lib, py, 'site-packages', vendored));
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

function compileSchema(schema: Obj): ValidateFunction {
  const draft = String(schema.$schema ?? '');
  const options = { strict: false, allErrors: true, validateFormats: false };
  const ajv = draft.includes('2020-12') ? new Ajv2020(options) : draft.includes('2019-09') ? new Ajv2019(options) : new Ajv(options);
  // The draft is chosen above; its URI is spelt differently across schema copies, so do not look it up.
  const { $schema: _draft, ...body } = schema;
  return ajv.compile(body as AnySchema);
}

function errorsOf(validate: ValidateFunction, value: unknown): string[] {
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** The names of the environment variables a source file reads (config helpers and process.env / env.X). */
function envVarsReadBy(rel: string): string[] {
  const text = read(rel);
  const names = new Set<string>();
  for (const m of text.matchAll(/\b(?:value|required|url|integer|bool|read)\('([A-Z][A-Z0-9_]*)'/g)) names.add(m[1]);
  for (const m of text.matchAll(/\b(?:process\.env|env)\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]);
  return [...names];
}

// ------------------------------------------------------------------ docker-compose.yml

const example = envExample();
const compose = loadCompose(example);
const services = compose.services;

describe('docker-compose.yml', () => {
  const schemaPath = composeSchemaPath();
  // The schema comes from a package; without it the check is skipped locally and fails under CI.
  const schemaTest = schemaPath || isCI ? test : test.skip;
  if (!schemaPath && !isCI) console.warn('Compose schema not found (CT_COMPOSE_SCHEMA, or check-jsonschema in .venv/tools): schema check skipped');

  schemaTest('is valid against the Compose Specification schema (and the check rejects a broken file)', () => {
    if (!schemaPath) throw new Error('the Compose Specification schema is not installed: scripts/setup.sh puts check-jsonschema in .venv/tools');
    const validate = compileSchema(JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as Obj);
    expect(errorsOf(validate, compose)).toEqual([]);
    // The same file with the defaults alone (no .env at all) is valid too.
    expect(errorsOf(validate, loadCompose(new Map()))).toEqual([]);
    // The check can fail: a misspelt key and a wrong type are rejected.
    const broken = structuredClone(compose) as unknown as { services: Record<string, Obj> };
    broken.services.worker.enviroment = { X: '1' };
    broken.services.temporal.ports = 7233;
    expect(errorsOf(validate, broken).length).toBeGreaterThan(0);
  });

  test('every ${VARIABLE} is documented in deploy/.env.example, with the same default, and nothing else is', () => {
    const refs = variableReferences(read('docker-compose.yml'));
    expect(refs.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const ref of refs) {
      if (!example.has(ref.name)) problems.push(`${ref.name} is not documented in deploy/.env.example`);
      else if (ref.op.endsWith('-') && example.get(ref.name) !== ref.arg) {
        problems.push(`${ref.name}: compose default "${ref.arg}" but deploy/.env.example says "${example.get(ref.name)}"`);
      } else if (ref.op === '' && !example.get(ref.name)) problems.push(`${ref.name} has no default and no value in deploy/.env.example`);
    }
    const used = new Set(refs.map((r) => r.name));
    for (const name of example.keys()) if (!used.has(name)) problems.push(`deploy/.env.example documents ${name}, which docker-compose.yml does not use`);
    expect(problems).toEqual([]);
  });

  test('no secret value is written in the file: secrets are ${VARIABLE} references', () => {
    const raw = yaml.load(read('docker-compose.yml')) as ComposeFile;
    const problems: string[] = [];
    for (const [name, svc] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (/PASSWORD|PWD|SECRET|TOKEN|API_KEY/.test(key) && !/^\$\{[A-Z0-9_]+(:-[^}]*)?\}$/.test(String(value))) {
          problems.push(`${name}.environment.${key} = ${String(value)}`);
        }
      }
    }
    expect(problems).toEqual([]);
    // The user's .env (secrets) is never committed.
    const tracked = execFileSync('git', ['ls-files', '--', '.env', 'deploy/.env'], { cwd: root, encoding: 'utf8' });
    expect(tracked).toBe('');
  });

  test('every build context, Dockerfile, env_file, mounted path and entry point it names exists', () => {
    const problems: string[] = [];
    const named = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, svc] of Object.entries(services)) {
      if (svc.build) {
        const context = path.resolve(root, svc.build.context);
        if (!fs.existsSync(context)) problems.push(`${name}: build context ${svc.build.context}`);
        if (!fs.existsSync(path.join(context, svc.build.dockerfile ?? 'Dockerfile'))) problems.push(`${name}: Dockerfile`);
      }
      if (svc.env_file !== undefined) problems.push(`${name}: env_file is not used (variables come from .env through interpolation)`);
      for (const volume of svc.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('.') || source.startsWith('/')) {
          if (!fs.existsSync(path.resolve(root, source))) problems.push(`${name}: mounted path ${source} does not exist`);
        } else if (!named.has(source)) problems.push(`${name}: volume ${source} is not declared under volumes:`);
      }
      // The emulators' TypeScript entry points (node --import tsx <file>, from their package) are files of this repository.
      const command = svc.command ?? [];
      const tsx = command.indexOf('tsx');
      const entry = tsx >= 0 ? path.join(root, 'emulators', command[tsx + 1]) : undefined;
      if (entry && !fs.existsSync(entry)) problems.push(`${name}: ${command[tsx + 1]} does not exist`);
    }
    expect(problems).toEqual([]);
    // The shell scripts the admin-tools containers run are POSIX sh with `set -eu`.
    for (const script of ['deploy/temporal/setup-postgres.sh', 'deploy/temporal/setup-namespace.sh']) {
      expect(read(script)).toMatch(/^#!\/bin\/sh\n[\s\S]*\nset -eu\n/);
    }
  });

  test('Temporal starts in order: postgres, schema, server, namespace and search attributes, then UI and our services', () => {
    const dependsOn = (name: string) => Object.fromEntries(Object.entries(services[name].depends_on ?? {}).map(([k, v]) => [k, v.condition]));
    expect(dependsOn('temporal-schema')).toEqual({ postgresql: 'service_healthy' });
    expect(dependsOn('temporal')).toEqual({ 'temporal-schema': 'service_completed_successfully' });
    expect(dependsOn('temporal-setup')).toEqual({ temporal: 'service_healthy' });
    expect(dependsOn('temporal-ui')).toEqual({ temporal: 'service_healthy', 'temporal-setup': 'service_completed_successfully' });
    expect(dependsOn('worker')).toEqual({ 'temporal-setup': 'service_completed_successfully' });
    expect(dependsOn('watcher')).toEqual({ 'temporal-setup': 'service_completed_successfully' });
    expect(services['temporal-ui'].ports).toContain('127.0.0.1:8080:8080');
    expect(services['temporal'].image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    expect(services['temporal'].environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
  });

  test('temporal-setup registers exactly our search attributes, within SQL visibility limits per type', () => {
    const declared = String(services['temporal-setup'].environment?.CT_SEARCH_ATTRIBUTES).trim().split(/\s+/);
    const typeName: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int' };
    const expected = ALL_SEARCH_ATTRIBUTES.map((key) => `${key.name}=${typeName[key.type] ?? `unmapped:${key.type}`}`);
    expect(declared.sort()).toEqual([...expected].sort());
    // PostgreSQL visibility has a fixed number of custom columns per type in the namespace.
    const count = (type: string) => declared.filter((d) => d.endsWith(`=${type}`)).length;
    expect(count('Keyword')).toBeLessThanOrEqual(10);
    expect(count('Int')).toBeLessThanOrEqual(3);
  });

  test('the Temporal server runs the configuration and registration the cluster stack and its tests run', () => {
    // deploy/temporal/config/temporal-server.yaml, rendered by the server from the same variables; stack/temporal-cluster.ts runs it too.
    expect(services['temporal'].environment).toMatchObject({ TEMPORAL_SERVER_CONFIG_FILE_PATH: '/etc/temporal/ct/temporal-server.yaml' });
    expect(services['temporal'].volumes).toContain('./deploy/temporal/config:/etc/temporal/ct:ro');
    expect(read('deploy/temporal/config/temporal-server.yaml')).toMatch(/^# enable-template\n/);
    // The image and the tool that lays the schema are the version the cluster stack builds.
    const pinned = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
    expect(services['temporal'].image).toBe(`temporalio/server:${pinned}`); // as interpolated with the defaults
    expect(services['temporal-schema'].image).toBe(`temporalio/admin-tools:${pinned}`);
    // The web UI is the release of the UI server the cluster tier's UI test runs (the temporalio/ui image is its build).
    expect(services['temporal-ui'].image).toBe(`temporalio/ui:${UI_SERVER_VERSION.replace(/^v/, '')}`);
    // PostgreSQL: the major version of the server the cluster tier runs on (Debian's package here).
    const pgBin = postgresBinDir();
    if (pgBin || isCI) {
      if (!pgBin) throw new Error("PostgreSQL's server not found under CI=true: run scripts/setup.sh");
      const major = /\(PostgreSQL\) (\d+)/.exec(execFileSync(path.join(pgBin, 'postgres'), ['--version'], { encoding: 'utf8' }))?.[1];
      expect(services['postgresql'].image).toBe(`postgres:${major}`);
    }
    // The same list of search attributes as the cluster stack hands setup-namespace.sh.
    const words = (s: string) => s.trim().split(/\s+/).sort();
    expect(words(String(services['temporal-setup'].environment?.CT_SEARCH_ATTRIBUTES))).toEqual(words(CT_SEARCH_ATTRIBUTES));
  });

  // The admin-tools script, run for real: the `temporal` CLI (the one in admin-tools) against a dev server.
  const cli = temporalCliPath();
  (cli || isCI ? test : test.skip)('setup-namespace.sh creates the namespace and registers the search attributes, and a second run changes nothing', async () => {
    if (!cli) throw new Error('temporal CLI not found under CI=true: run scripts/setup.sh');
    const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: cli } } });
    try {
      const address = env.connection.options.address;
      const namespace = 'ct-compose-setup';
      const run = () =>
        promisify(execFile)('sh', [path.join(root, 'deploy/temporal/setup-namespace.sh')], {
          env: {
            PATH: `${path.dirname(cli)}:${process.env.PATH ?? ''}`,
            TEMPORAL_ADDRESS: address,
            TEMPORAL_NAMESPACE: namespace,
            CT_SEARCH_ATTRIBUTES: String(services['temporal-setup'].environment?.CT_SEARCH_ATTRIBUTES),
          },
        });
      const first = await run();
      expect(first.stdout).toContain(`namespace ${namespace} created`);
      const second = await run();
      expect(second.stdout).toContain(`namespace ${namespace} exists`);
      expect(second.stdout).not.toContain('registered');

      const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace });
      const typeOf = (t: temporal.api.enums.v1.IndexedValueType) => temporal.api.enums.v1.IndexedValueType[t];
      for (const key of ALL_SEARCH_ATTRIBUTES) {
        expect([key.name, typeOf(customAttributes?.[key.name] ?? 0)]).toEqual([key.name, `INDEXED_VALUE_TYPE_${key.type}`]);
      }
    } finally {
      await env.teardown();
    }
  });

  test('the worker gets every setting it reads from the environment (or from its image), except files that need a mount', () => {
    const read_ = new Set([...envVarsReadBy('product/activities/config.ts'), ...envVarsReadBy('product/worker/temporal-config.ts'), ...envVarsReadBy('product/worker/main.ts')]);
    expect(read_.has('PACHD_URL') && read_.has('SELDON_CLIENT_SECRET') && read_.has('TEMPORAL_ADDRESS')).toBe(true);
    // Paths of certificate files: set with a mount in a docker-compose.override.yml (see deploy/.env.example).
    const needMount = ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_CONFIG_FILE', 'CT_TLS_CA_FILE'];
    const fromImage = [...read('Dockerfile').matchAll(/^ENV ([A-Z_]+)=/gm)].map((m) => m[1]); // e.g. CT_WORKFLOW_BUNDLE
    expect(fromImage).toContain('CT_WORKFLOW_BUNDLE');
    const wired = [...Object.keys(services.worker.environment ?? {}), ...fromImage];
    expect([...read_].filter((v) => !needMount.includes(v) && !wired.includes(v))).toEqual([]);
    // The watcher talks to Temporal and Pachyderm only.
    expect(Object.keys(services.watcher.environment ?? {}).sort()).toEqual(
      ['CT_HEALTH_ADDRESS', 'CT_TASK_QUEUE', 'PACHD_TOKEN', 'PACHD_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_API_KEY', 'TEMPORAL_NAMESPACE', 'TEMPORAL_PROFILE', 'TEMPORAL_TLS', 'TEMPORAL_TLS_SERVER_NAME'],
    );
    // `ct` on the image's PATH is the compiled CLI, run by node directly (no npx in between to swallow SIGTERM).
    expect(services.watcher.command).toEqual(['ct', 'watch', '--config', '/app/config/pipelines.yaml']);
    expect(services.worker.command).toBeUndefined(); // the image's CMD: the compiled worker
  });

  test('the emulators run under the "emulators" profile, reachable where the worker looks by default', () => {
    const env = services.worker.environment ?? {};
    const defaults: Record<string, string> = { pachyderm: String(env.PACHD_URL), determined: String(env.DET_MASTER), seldon: String(env.SELDON_URL) };
    for (const [name, url] of Object.entries(defaults)) {
      const svc = services[name];
      expect(svc.profiles).toEqual(['emulators']);
      const command = svc.command ?? [];
      // Their own image (emulators/Dockerfile, WORKDIR the emulators package), node with the tsx loader.
      expect(svc.build).toMatchObject({ context: '.', dockerfile: 'emulators/Dockerfile' });
      expect(command.slice(0, 4)).toEqual(['node', '--import', 'tsx', `${name}/main.ts`]);
      expect(fs.existsSync(path.join(root, 'emulators', name, 'main.ts'))).toBe(true);
      const flag = (f: string) => command[command.indexOf(f) + 1];
      // The worker's default URL names this service and the port the emulator listens on, on all interfaces.
      const parsed = new URL(url);
      expect(parsed.hostname).toBe(name);
      expect(flag('--port')).toBe(parsed.port);
      expect(flag('--host')).toBe('0.0.0.0');
      // Its state lives on a named volume mounted at its --state-dir.
      expect(svc.volumes?.some((v) => v.endsWith(`:${flag('--state-dir')}`) && !v.startsWith('.'))).toBe(true);
    }
    // The emulators take the same credentials the worker uses.
    expect(services.determined.command).toContain(String(env.DET_PASSWORD));
    expect(services.pachyderm.environment?.PACHD_EMULATOR_AUTH_TOKEN).toBe(env.PACHD_TOKEN);
    const seldon = services.seldon.command ?? [];
    expect(seldon[seldon.indexOf('--client-secret') + 1]).toBe(env.SELDON_CLIENT_SECRET);
    // Our services are not in a profile: they start with a plain `docker compose up`.
    for (const name of ['worker', 'watcher', 'temporal', 'temporal-ui', 'postgresql']) expect(services[name].profiles).toBeUndefined();
  });
});

// ------------------------------------------------------------------ Dockerfile and .dockerignore

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));

  test("Node 24 (LTS) slim, the product's production dependencies only, git, a non-root user, the compiled worker by default", () => {
    const stages = instructions.filter((l) => l.startsWith('FROM '));
    expect(stages).toEqual(['FROM node:24-bookworm-slim AS manifests', 'FROM manifests AS build', 'FROM manifests']);
    // Only the product's runtime dependencies: not the emulators', the stack's or the dev tools.
    expect(instructions).toContain('RUN npm ci -w continuous-training --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force');
    const product = JSON.parse(read('product/package.json')) as { dependencies: Obj; scripts: Record<string, string>; bin: Record<string, string> };
    for (const dep of Object.keys(product.dependencies)) expect(dep).not.toMatch(/^(@continuous-training\/|tsx$|ts-node$|typescript$)/);
    expect(dockerfile).toMatch(/apt-get install[^\n]*\bgit\b/);
    const users = instructions.filter((l) => l.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/USER (root|0)\b/);
    // The worker starts as the product's `npm run worker:compiled` does, from its folder, on what the build stage compiled.
    expect(instructions.filter((l) => l.startsWith('WORKDIR ')).pop()).toBe('WORKDIR /app/product');
    expect(instructions[instructions.length - 1]).toBe(`CMD ${JSON.stringify(product.scripts['worker:compiled'].split(' '))}`.replace(/","/g, '", "'));
    expect(instructions).toContain('RUN npm run build -w continuous-training');
    expect(instructions).toContain('COPY --from=build /app/product/build ./product/build');
    expect(product.scripts.build).toContain('tsc -p tsconfig.build.json');
    // `ct` is the package's bin, linked onto the PATH.
    expect(dockerfile).toContain(`ln -s /app/product/${product.bin.ct} /usr/local/bin/ct`);
  });

  test('the worker loads the workflow bundle the build stage wrote (CT_WORKFLOW_BUNDLE)', () => {
    const product = JSON.parse(read('product/package.json')) as { scripts: Record<string, string> };
    const out = /bundle-workflows\.js (\S+)$/.exec(product.scripts.build)![1];
    expect(instructions).toContain(`ENV CT_WORKFLOW_BUNDLE=/app/product/${out}`);
    expect(fs.existsSync(path.join(root, 'product', 'scripts', 'bundle-workflows.ts'))).toBe(true);
  });

  test('bakes in no secret', () => {
    for (const line of instructions.filter((l) => /^(ENV|ARG) /.test(l))) {
      expect(line).not.toMatch(/PASSWORD|SECRET|TOKEN|API_KEY/);
    }
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['.env', '.env.*', 'node_modules', '.venv', '.state', '.git', 'build']) expect(ignored).toContain(entry);
  });
});

// ------------------------------------------------------------------ Pachyderm pipeline specs

interface PipelineSpecJson {
  pipeline: { name: string };
  input: { pfs: { name: string; repo: string; branch: string; glob: string; emptyFiles?: boolean } };
  transform: { image: string; cmd: string[]; workingDir?: string };
}

/**
 * A validator of pps_v2.CreatePipelineRequest from pachd's committed OpenAPI spec (vendored with the
 * emulators), made strict (unknown fields rejected, as pachctl's protojson parsing does).
 */
function createPipelineValidator(): { source: string; validate: ValidateFunction } {
  const swaggerFile = path.join(API_SPECS_DIR, 'pachyderm/src/openapi/pachyderm_api.swagger.json');
  const swagger = JSON.parse(fs.readFileSync(swaggerFile, 'utf8')) as { definitions: Record<string, Obj> };
  const definitions: Record<string, Obj> = {};
  for (const [name, def] of Object.entries(swagger.definitions)) {
    definitions[name] = def.properties ? { ...def, additionalProperties: false } : def;
  }
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return { source: swaggerFile, validate: ajv.compile({ $ref: '#/definitions/pps_v2CreatePipelineRequest', definitions }) };
}

describe('Pachyderm pipeline specs', () => {
  const { source, validate } = createPipelineValidator();
  const defaultImage = String(services.worker.image);

  test(`are valid CreatePipelineRequests (${path.basename(source)}), and the check rejects an unknown field`, () => {
    for (const file of ['training-trigger.json', 'deployment-trigger.json']) {
      const spec = JSON.parse(read(`deploy/pachyderm/${file}`)) as Obj;
      expect({ file, errors: errorsOf(validate, spec) }).toEqual({ file, errors: [] });
      // protojson spelling is camelCase in these files; a snake_case typo must not pass unnoticed.
      const broken = structuredClone(spec) as { input: { pfs: Obj } };
      broken.input.pfs.empty_filez = true;
      expect(errorsOf(validate, broken).length).toBeGreaterThan(0);
    }
  });

  test.each([
    ['training-trigger.json', 'trigger', '--commit', (p: { input: { repo: string } }) => p.input.repo],
    ['deployment-trigger.json', 'deploy', '--output-commit', (p: { output: { repo: string } }) => p.output.repo],
  ] as const)('%s runs our CLI (%s) with the commit id, for a pipeline of config/pipelines.example.yaml', (file, command, commitFlag, repoOf) => {
    const spec = JSON.parse(read(`deploy/pachyderm/${file}`)) as PipelineSpecJson;
    // Trigger only: the whole input commit as one datum, without downloading its files.
    expect(spec.input.pfs).toMatchObject({ glob: '/', emptyFiles: true });
    // Our image, as docker-compose.yml builds it, run from its WORKDIR.
    expect(spec.transform.image).toBe(defaultImage);
    // Run from /app, where the image keeps config/.
    expect(spec.transform.workingDir).toBe('/app');
    expect(read('Dockerfile')).toMatch(/^COPY config\/ \.\/config\/$/m);

    const [shell, flag, script] = spec.transform.cmd;
    expect([shell, flag]).toEqual(['sh', '-c']);
    const args = script.split(/\s+/);
    expect(args.slice(0, 3)).toEqual(['exec', 'ct', command]);
    const arg = (name: string) => args[args.indexOf(name) + 1];
    // The commit id: the input's <name>_COMMIT, else the job id (the same id since Pachyderm 2's global ids).
    expect(arg(commitFlag)).toBe(`"\${${spec.input.pfs.name}_COMMIT:-$PACH_JOB_ID}"`);

    // The pipeline it names exists in the config file it passes, and follows the same repo.
    const configFile = arg('--config');
    expect(fs.existsSync(path.join(root, configFile))).toBe(true);
    const pipeline = findPipeline(loadPipelinesConfig(path.join(root, configFile)), arg('--pipeline'));
    expect(spec.input.pfs.repo).toBe(repoOf(pipeline));
    // Pachyderm creates an output repo named after the pipeline: it must not be one of ours.
    expect(spec.pipeline.name).not.toBe(pipeline.input.repo);
    expect(spec.pipeline.name).not.toBe(pipeline.output.repo);
  });
});
