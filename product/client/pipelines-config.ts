// Pipelines are declared in a YAML file. Everything is validated at start, and one error names every
// bad or missing field by its path. Only non-secret settings belong here: connections and secrets come
// from the environment (see activities/config.ts and worker/temporal-config.ts).
import fs from 'node:fs';
import yaml from 'js-yaml';
import { UsageError } from './cli-support';
import type { DetectorSettings, PipelineSpec, RepoRef } from '../common/pipeline';
import { parseDuration } from '../common/duration';
import { deploymentQueueWorkflowId, repositoryWorkflowId } from '../common/ids';

export class PipelinesConfigError extends UsageError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid pipelines config ${file}: ${problems.join('; ')}`);
  }
}

type Obj = Record<string, unknown>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Collects problems while reading a document, so one run reports all of them. */
class Reader {
  readonly problems: string[] = [];

  obj(value: unknown, path: string, optional = false): Obj | undefined {
    if (value === undefined || value === null) {
      if (!optional) this.problems.push(`${path}: required`);
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.problems.push(`${path}: must be a mapping`);
      return undefined;
    }
    return value as Obj;
  }

  str(o: Obj | undefined, key: string, path: string, opts: { default?: string; pattern?: RegExp; oneOf?: string[] } = {}): string {
    const v = o?.[key];
    const at = `${path}.${key}`;
    if (v === undefined || v === null || v === '') {
      if (opts.default !== undefined) return opts.default;
      this.problems.push(`${at}: required`);
      return '';
    }
    if (typeof v !== 'string') {
      this.problems.push(`${at}: must be a string`);
      return '';
    }
    if (opts.pattern && !opts.pattern.test(v)) this.problems.push(`${at}: "${v}" does not match ${opts.pattern}`);
    if (opts.oneOf && !opts.oneOf.includes(v)) this.problems.push(`${at}: must be one of ${opts.oneOf.join(', ')}`);
    return v;
  }

  duration(o: Obj | undefined, key: string, path: string, def: string): string {
    const v = this.str(o, key, path, { default: def });
    if (v && parseDuration(v) === null) this.problems.push(`${path}.${key}: "${v}" is not a duration (e.g. 5s, 10m, 24h)`);
    return v;
  }

  int(o: Obj | undefined, key: string, path: string, def: number, min = 0): number {
    const v = o?.[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.problems.push(`${path}.${key}: must be an integer >= ${min}`);
      return def;
    }
    return v;
  }

  bool(o: Obj | undefined, key: string, path: string, def: boolean): boolean {
    const v = o?.[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.problems.push(`${path}.${key}: must be true or false`);
      return def;
    }
    return v;
  }

  unknownKeys(o: Obj | undefined, path: string, allowed: string[]): void {
    for (const key of Object.keys(o ?? {})) {
      if (!allowed.includes(key)) this.problems.push(`${path}.${key}: unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
}

/** The Determined model name: by default the pipeline's; the master refuses all-digit names (it reads them as ids). */
function modelName(r: Reader, o: Obj | undefined, path: string, pipelineName: string): string {
  const v = r.str(o, 'modelName', path, { default: pipelineName || undefined, pattern: NAME });
  if (/^\d+$/.test(v)) r.problems.push(`${path}.modelName: "${v}" is only digits, which Determined refuses as a model name: set another modelName`);
  return v;
}

function repo(r: Reader, value: unknown, path: string): RepoRef {
  const o = r.obj(value, path);
  r.unknownKeys(o, path, ['project', 'repo', 'branch']);
  return {
    project: r.str(o, 'project', path, { default: 'default', pattern: NAME }),
    repo: r.str(o, 'repo', path, { pattern: NAME }),
    branch: r.str(o, 'branch', path, { default: 'master', pattern: NAME }),
  };
}

function detector(r: Reader, value: unknown, path: string): DetectorSettings | null {
  if (value === false || value === null || value === undefined) return null;
  const o = r.obj(value, path);
  r.unknownKeys(o, path, ['storageUri', 'batchSize', 'replyUrl', 'protocol', 'httpPort', 'userPermission']);
  return {
    storageUri: r.str(o, 'storageUri', path),
    batchSize: r.int(o, 'batchSize', path, 4, 1),
    replyUrl: r.str(o, 'replyUrl', path, { default: 'http://seldon-request-logger.seldon-logs' }),
    protocol: r.str(o, 'protocol', path, { default: 'seldon.http' }),
    httpPort: r.str(o, 'httpPort', path, { default: '8080', pattern: /^\d+$/ }),
    userPermission: r.int(o, 'userPermission', path, 8888),
  };
}

function pipeline(r: Reader, value: unknown, path: string): PipelineSpec {
  const o = r.obj(value, path);
  r.unknownKeys(o, path, ['name', 'input', 'experiment', 'modelName', 'output', 'deployment', 'training']);
  const name = r.str(o, 'name', path, { pattern: NAME });
  const exp = r.obj(o?.experiment, `${path}.experiment`);
  r.unknownKeys(exp, `${path}.experiment`, ['gitUrl', 'ref', 'path', 'configFile']);
  const dep = r.obj(o?.deployment, `${path}.deployment`);
  const dp = `${path}.deployment`;
  r.unknownKeys(dep, dp, [
    'name', 'namespace', 'servingImage', 'replicas', 'credentialsSecret', 'strategy', 'readyTimeout', 'promotionGate', 'drift', 'outlier',
  ]);
  const training = r.obj(o?.training, `${path}.training`, true);
  r.unknownKeys(training, `${path}.training`, ['mode', 'pollInterval', 'timeout']);
  return {
    name,
    input: repo(r, o?.input, `${path}.input`),
    experiment: {
      gitUrl: r.str(exp, 'gitUrl', `${path}.experiment`),
      ref: r.str(exp, 'ref', `${path}.experiment`, { default: 'main' }),
      path: r.str(exp, 'path', `${path}.experiment`, { default: '.' }),
      configFile: r.str(exp, 'configFile', `${path}.experiment`, { default: 'const.yaml' }),
    },
    modelName: modelName(r, o, path, name),
    output: repo(r, o?.output, `${path}.output`),
    deployment: {
      name: r.str(dep, 'name', dp, { pattern: K8S_NAME }),
      namespace: r.str(dep, 'namespace', dp, { default: 'seldon', pattern: K8S_NAME }),
      servingImage: r.str(dep, 'servingImage', dp),
      replicas: r.int(dep, 'replicas', dp, 1, 1),
      credentialsSecret: r.str(dep, 'credentialsSecret', dp, { pattern: K8S_NAME }),
      strategy: r.str(dep, 'strategy', dp, { default: 'replace', oneOf: ['replace', 'delete-first'] }) as 'replace' | 'delete-first',
      readyTimeout: r.duration(dep, 'readyTimeout', dp, '10m'),
      promotionGate: r.bool(dep, 'promotionGate', dp, false),
      drift: detector(r, dep?.drift, `${dp}.drift`),
      outlier: detector(r, dep?.outlier, `${dp}.outlier`),
    },
    training: {
      mode: r.str(training, 'mode', `${path}.training`, { default: 'coalesce', oneOf: ['coalesce', 'per-commit'] }) as 'coalesce' | 'per-commit',
      pollInterval: r.duration(training, 'pollInterval', `${path}.training`, '5s'),
      timeout: r.duration(training, 'timeout', `${path}.training`, '24h'),
    },
  };
}

/** Parses and validates a pipelines document; throws PipelinesConfigError naming every problem. */
export function parsePipelinesConfig(text: string, file = '<pipelines>'): PipelineSpec[] {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new PipelinesConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const r = new Reader();
  const root = r.obj(doc, '$');
  r.unknownKeys(root, '$', ['pipelines']);
  const list = root?.pipelines;
  if (!Array.isArray(list) || list.length === 0) {
    r.problems.push('$.pipelines: must be a non-empty list');
    throw new PipelinesConfigError(file, r.problems);
  }
  const pipelines = list.map((p, i) => pipeline(r, p, `$.pipelines[${i}]`));
  const seen = new Map<string, string>();
  pipelines.forEach((p, i) => {
    for (const [what, key] of [
      ['name', `name:${p.name}`],
      // The workflow ids themselves: two pipelines must never share a long-lived workflow.
      ['input repo and branch (repository workflow)', `workflow:${repositoryWorkflowId(p.input)}`],
      ['output repo and branch', `output:${p.output.project}/${p.output.repo}@${p.output.branch}`],
      ['deployment (deployer workflow)', `workflow:${deploymentQueueWorkflowId(p.deployment.namespace, p.deployment.name)}`],
    ]) {
      const other = seen.get(key);
      if (other) r.problems.push(`$.pipelines[${i}]: same ${what} as ${other}`);
      else seen.set(key, `$.pipelines[${i}]`);
    }
    if (p.input.repo && p.input.project === p.output.project && p.input.repo === p.output.repo) {
      r.problems.push(`$.pipelines[${i}].output: must differ from the input repo (a model commit would retrigger training)`);
    }
  });
  if (r.problems.length) throw new PipelinesConfigError(file, r.problems);
  return pipelines;
}

export function loadPipelinesConfig(file: string): PipelineSpec[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PipelinesConfigError(file, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parsePipelinesConfig(text, file);
}

export class UnknownPipelineError extends UsageError {}

export function findPipeline(pipelines: PipelineSpec[], name: string): PipelineSpec {
  const found = pipelines.find((p) => p.name === name);
  if (!found) throw new UnknownPipelineError(`no pipeline named "${name}" (known: ${pipelines.map((p) => p.name).join(', ')})`);
  return found;
}
