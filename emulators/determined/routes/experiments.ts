// Experiments and trials: create (config validated against expconf), read, list, labels, lifecycle
// actions, trials, checkpoints of an experiment and trial logs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import yaml from 'js-yaml';
import type { RequestContext, Router } from '../../common/router';
import { sendJson } from '../../common/body';
import { apiError } from '../errors';
import { authed, enumParam, experimentOr404, intParam, ORDER_BY, readApiJson, type MasterContext } from '../context';
import type { CheckpointRecord, ExperimentRecord, JsonObject, ModelDefinitionFile, TrialRecord, UserRecord } from '../store';
import { TERMINAL_STATES } from '../store';
import { checkpointJson, experimentJson, jobSummaryJson, searcherOf, trialJson } from '../wire';
import { pageInfo, pageParams, paginate } from '../pagination';

const EXPERIMENT_SORT = [
  'SORT_BY_UNSPECIFIED', 'SORT_BY_ID', 'SORT_BY_DESCRIPTION', '', 'SORT_BY_START_TIME', 'SORT_BY_END_TIME', 'SORT_BY_STATE',
  '', 'SORT_BY_NUM_TRIALS', 'SORT_BY_PROGRESS', 'SORT_BY_USER', 'SORT_BY_NAME', 'SORT_BY_FORKED_FROM',
  'SORT_BY_RESOURCE_POOL', 'SORT_BY_PROJECT_ID', 'SORT_BY_CHECKPOINT_SIZE', 'SORT_BY_CHECKPOINT_COUNT', 'SORT_BY_SEARCHER_METRIC_VAL',
] as const;
const CHECKPOINT_SORT = [
  'SORT_BY_UNSPECIFIED', 'SORT_BY_UUID', 'SORT_BY_TRIAL_ID', 'SORT_BY_BATCH_NUMBER', 'SORT_BY_END_TIME', 'SORT_BY_STATE',
  'SORT_BY_SEARCHER_METRIC',
] as const;
const CHECKPOINT_STATES = ['STATE_UNSPECIFIED', 'STATE_ACTIVE', 'STATE_COMPLETED', 'STATE_ERROR', 'STATE_DELETED', 'STATE_PARTIALLY_DELETED'] as const;

const DEFAULT_IMAGES = {
  cpu: 'determinedai/pytorch-ngc-dev:0.38.1',
  cuda: 'determinedai/pytorch-ngc-dev:0.38.1',
  rocm: 'determinedai/environments:rocm-5.6-pytorch-1.3-tf-2.10-rocm-mpich-0.26.4',
};

export function addExperimentRoutes(router: Router, master: MasterContext): void {
  const { store, runs } = master;

  router.post('/api/v1/experiments', authed(master, async (ctx, user) => {
    const body = await readApiJson<JsonObject>(ctx);
    const created = createExperiment(master, body, user);
    sendJson(ctx.res, 200, created);
  }));

  router.get('/api/v1/experiments', authed(master, (ctx) => {
    const q = ctx.query;
    const labels = q.getAll('labels').flatMap((l) => l.split(',')).filter(Boolean);
    const states = q.getAll('states');
    const name = q.get('name');
    let items = store.state.experiments.filter((e) => e.state !== 'STATE_DELETED');
    if (labels.length) items = items.filter((e) => labels.every((l) => e.labels.includes(l)));
    if (states.length) items = items.filter((e) => states.includes(e.state));
    if (name) items = items.filter((e) => e.name.toLowerCase().includes(name.toLowerCase()));
    if (q.get('projectId')) items = items.filter((e) => e.projectId === intParam(q.get('projectId'), 'projectId'));
    const sortBy = enumParam(q.get('sortBy'), 'sortBy', EXPERIMENT_SORT, 'SORT_BY_UNSPECIFIED');
    const orderBy = enumParam(q.get('orderBy'), 'orderBy', ORDER_BY, 'ORDER_BY_UNSPECIFIED');
    const key = (e: ExperimentRecord): string | number => {
      switch (sortBy) {
        case 'SORT_BY_DESCRIPTION': return e.description;
        case 'SORT_BY_START_TIME': return e.startTime;
        case 'SORT_BY_END_TIME': return e.endTime ?? '';
        case 'SORT_BY_STATE': return e.state;
        case 'SORT_BY_NAME': return e.name;
        case 'SORT_BY_USER': return e.username;
        case 'SORT_BY_FORKED_FROM': return e.parentId ?? 0;
        default: return e.id;
      }
    };
    items = [...items].sort((a, b) => compare(key(a), key(b)) || a.id - b.id);
    if (orderBy === 'ORDER_BY_DESC') items.reverse();
    const { page, pagination } = pageInfo(items, pageParams(q));
    sendJson(ctx.res, 200, { experiments: page.map((e) => experimentJson(store, e)), pagination });
  }));

  router.get('/api/v1/experiments/:id', authed(master, (ctx) => {
    const exp = experimentOr404(store, ctx.params.id);
    sendJson(ctx.res, 200, { experiment: experimentJson(store, exp), jobSummary: jobSummaryJson(exp), config: exp.config });
  }));

  router.patch('/api/v1/experiments/:id', authed(master, async (ctx) => {
    const exp = experimentOr404(store, ctx.params.id);
    const patch = await readApiJson<JsonObject>(ctx);
    if (patch.id !== undefined && Number(patch.id) !== exp.id) throw apiError('InvalidArgument', 'experiment.id does not match the path');
    for (const field of ['name', 'description', 'notes'] as const) {
      if (patch[field] === undefined || patch[field] === null) continue;
      if (typeof patch[field] !== 'string') throw apiError('InvalidArgument', `${field} must be a string`);
      if (field === 'name' && !(patch.name as string).trim()) throw apiError('InvalidArgument', 'name must not be empty');
      exp[field] = patch[field] as string;
      if (field !== 'notes') exp.config[field] = patch[field];
    }
    if (patch.labels !== undefined && patch.labels !== null) {
      if (!Array.isArray(patch.labels) || !patch.labels.every((l) => typeof l === 'string')) {
        throw apiError('InvalidArgument', 'labels must be an array of strings');
      }
      setLabels(exp, patch.labels as string[]);
    }
    store.save();
    sendJson(ctx.res, 200, { experiment: experimentJson(store, exp) });
  }));

  router.put('/api/v1/experiments/:id/labels/:label', authed(master, (ctx) => {
    const exp = experimentOr404(store, ctx.params.id);
    if (!exp.labels.includes(ctx.params.label)) setLabels(exp, [...exp.labels, ctx.params.label]);
    store.save();
    sendJson(ctx.res, 200, { labels: exp.labels });
  }));

  router.delete('/api/v1/experiments/:id/labels/:label', authed(master, (ctx) => {
    const exp = experimentOr404(store, ctx.params.id);
    setLabels(exp, exp.labels.filter((l) => l !== ctx.params.label));
    store.save();
    sendJson(ctx.res, 200, { labels: exp.labels });
  }));

  const action = (name: string, run: (exp: ExperimentRecord) => void) =>
    router.post(`/api/v1/experiments/:id/${name}`, authed(master, (ctx) => {
      run(experimentOr404(store, ctx.params.id));
      sendJson(ctx.res, 200, {});
    }));
  action('kill', (exp) => runs.stop(exp, 'kill'));
  action('cancel', (exp) => runs.stop(exp, 'cancel'));
  action('pause', (exp) => {
    if (TERMINAL_STATES.includes(exp.state)) throw apiError('FailedPrecondition', `experiment in terminal state ${exp.state} cannot be paused`);
    runs.pause(exp);
  });
  action('activate', (exp) => {
    if (TERMINAL_STATES.includes(exp.state)) throw apiError('FailedPrecondition', `experiment in terminal state ${exp.state} cannot be activated`);
    runs.activate(exp);
  });
  action('archive', (exp) => {
    if (!TERMINAL_STATES.includes(exp.state)) throw apiError('FailedPrecondition', `cannot archive experiment ${exp.id} in non-terminal state`);
    exp.archived = true;
    store.save();
  });
  action('unarchive', (exp) => {
    exp.archived = false;
    store.save();
  });

  router.get('/api/v1/experiments/:id/trials', authed(master, (ctx) => {
    const exp = experimentOr404(store, ctx.params.id);
    const trials = exp.trialIds.map((id) => store.trial(id)).filter((t): t is TrialRecord => !!t);
    const orderBy = enumParam(ctx.query.get('orderBy'), 'orderBy', ORDER_BY, 'ORDER_BY_UNSPECIFIED');
    if (orderBy === 'ORDER_BY_DESC') trials.reverse();
    const { page, pagination } = pageInfo(trials, pageParams(ctx.query));
    sendJson(ctx.res, 200, { trials: page.map((t) => trialJson(store, t)), pagination });
  }));

  router.get('/api/v1/experiments/:id/checkpoints', authed(master, (ctx) => {
    const exp = experimentOr404(store, ctx.params.id);
    const list = sortCheckpoints(
      exp,
      store.state.checkpoints.filter((c) => c.experimentId === exp.id),
      ctx,
    );
    const { page, pagination } = paginate(list, pageParams(ctx.query));
    sendJson(ctx.res, 200, { checkpoints: page.map((c) => checkpointJson(store, c)), pagination });
  }));
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function setLabels(exp: ExperimentRecord, labels: string[]): void {
  exp.labels = [...new Set(labels)];
  exp.config.labels = exp.labels;
}

/** GetExperimentCheckpoints: states filter, sortByAttr / sortByMetric, orderBy (default: best first). */
export function sortCheckpoints(exp: ExperimentRecord, items: CheckpointRecord[], ctx: RequestContext): CheckpointRecord[] {
  const q = ctx.query;
  const states = q.getAll('states').map((s) => enumParam(s, 'states', CHECKPOINT_STATES, 'STATE_UNSPECIFIED'));
  let list = states.length ? items.filter((c) => states.includes(c.state)) : [...items];
  const sortByAttr = enumParam(q.get('sortByAttr'), 'sortByAttr', CHECKPOINT_SORT, 'SORT_BY_UNSPECIFIED');
  const sortByMetric = q.get('sortByMetric');
  if (sortByAttr !== 'SORT_BY_UNSPECIFIED' && sortByMetric) throw apiError('InvalidArgument', 'only one of sortByAttr and sortByMetric may be set');
  const orderBy = enumParam(q.get('orderBy'), 'orderBy', ORDER_BY, 'ORDER_BY_UNSPECIFIED');
  const { metric, smallerIsBetter } = searcherOf(exp.config);
  const metricName = sortByMetric ?? (sortByAttr === 'SORT_BY_SEARCHER_METRIC' ? metric : undefined);
  if (metricName !== undefined) {
    const valueOf = (c: CheckpointRecord) => (metricName === metric && !sortByMetric ? c.searcherMetric : c.validationMetrics[metricName]);
    // Unspecified order means best first by the searcher's direction; checkpoints without the metric go last.
    const ascending = orderBy === 'ORDER_BY_UNSPECIFIED' ? smallerIsBetter : orderBy === 'ORDER_BY_ASC';
    list.sort((a, b) => {
      const va = valueOf(a);
      const vb = valueOf(b);
      if (typeof va !== 'number' || typeof vb !== 'number') return (typeof va === 'number' ? -1 : 1) - (typeof vb === 'number' ? -1 : 1) || a.trialId - b.trialId;
      if (va === vb) return a.trialId - b.trialId;
      return (ascending ? va < vb : va > vb) ? -1 : 1;
    });
    return list;
  }
  const key = (c: CheckpointRecord): string | number => {
    switch (sortByAttr) {
      case 'SORT_BY_UUID': return c.uuid;
      case 'SORT_BY_TRIAL_ID': return c.trialId;
      case 'SORT_BY_BATCH_NUMBER': return Number(c.metadata.steps_completed ?? 0);
      case 'SORT_BY_STATE': return c.state;
      default: return c.reportTime;
    }
  };
  list = list.sort((a, b) => compare(key(a), key(b)));
  if (orderBy === 'ORDER_BY_DESC') list.reverse();
  return list;
}

/** The concrete hyperparameter values of the single trial: const/raw values, midpoints, first category. */
function sampleHparams(spec: unknown): JsonObject {
  const out: JsonObject = {};
  if (!spec || typeof spec !== 'object') return out;
  for (const [name, value] of Object.entries(spec as JsonObject)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const h = value as JsonObject;
      switch (h.type) {
        case 'const': out[name] = h.val; break;
        case 'int': out[name] = Math.round(((h.minval as number) + (h.maxval as number)) / 2); break;
        case 'double': out[name] = ((h.minval as number) + (h.maxval as number)) / 2; break;
        case 'log': out[name] = Math.pow(h.base as number ?? 10, ((h.minval as number) + (h.maxval as number)) / 2); break;
        case 'categorical': out[name] = (h.vals as unknown[])[0]; break;
        default: out[name] = sampleHparams(h);
      }
    } else {
      out[name] = value;
    }
  }
  return out;
}

function validateModelDefinition(files: unknown): ModelDefinitionFile[] {
  if (files === undefined || files === null) return [];
  if (!Array.isArray(files)) throw apiError('InvalidArgument', 'modelDefinition must be an array of files');
  return files.map((f: unknown, i) => {
    const file = (f ?? {}) as Partial<ModelDefinitionFile>;
    if (typeof file.path !== 'string' || !file.path) throw apiError('InvalidArgument', `modelDefinition[${i}].path is required`);
    if (file.path.split('/').includes('..')) throw apiError('InvalidArgument', `modelDefinition[${i}].path must not contain ..`);
    const type = Number(file.type ?? 48);
    if (type !== 48 && type !== 53) throw apiError('InvalidArgument', `modelDefinition[${i}].type must be 48 (file) or 53 (directory)`);
    const content = file.content ?? '';
    if (typeof content !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(content)) {
      throw apiError('InvalidArgument', `modelDefinition[${i}].content must be base64`);
    }
    return {
      path: file.path,
      type,
      content,
      mtime: file.mtime ?? 0,
      mode: Number(file.mode ?? 0o644),
      uid: Number(file.uid ?? 0),
      gid: Number(file.gid ?? 0),
    };
  });
}

function invalidConfig(detail: string): never {
  throw apiError('InvalidArgument', `invalid experiment configuration: ${detail}`);
}

/** CreateExperiment, following the master's parseCreateExperiment. Exported for the control routes. */
export function createExperiment(master: MasterContext, body: JsonObject, user: UserRecord): JsonObject {
  const { store, validator } = master;
  if (typeof body.config !== 'string' || !body.config.trim()) throw apiError('InvalidArgument', 'config is required (the experiment config as a YAML string)');
  let parsed: unknown;
  try {
    parsed = yaml.load(body.config);
  } catch (err) {
    invalidConfig(`unable to convert yaml to json: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) invalidConfig('the config must be a YAML mapping');
  const sanity = validator.sanityErrors(parsed);
  if (sanity.length) invalidConfig(`version 0 experiment config is invalid: config is invalid: ${sanity.join('\n')}`);

  const raw = parsed as JsonObject;
  const parentId = body.parentId === undefined || body.parentId === null ? 0 : Number(body.parentId);
  if (!Number.isInteger(parentId) || parentId < 0) throw apiError('InvalidArgument', 'parentId must be a positive integer');
  const parent = parentId ? store.experiment(parentId) : undefined;
  if (parentId && !parent) throw apiError('NotFound', `experiment not found: ${parentId}`);
  const files = validateModelDefinition(body.modelDefinition);

  // The master merges its own settings in, then applies the schema defaults.
  const merged: JsonObject = structuredClone(raw);
  merged.checkpoint_storage ??= structuredClone(master.defaultCheckpointStorage);
  merged.name ??= `Experiment (${crypto.randomBytes(3).toString('hex')})`;
  const environment = (merged.environment ??= {}) as JsonObject;
  environment.image ??= { ...DEFAULT_IMAGES };
  const reproducibility = (merged.reproducibility ??= {}) as JsonObject;
  reproducibility.experiment_seed ??= crypto.randomInt(0, 2 ** 31 - 1);
  const config = validator.withDefaults(merged);
  const incomplete = validator.completenessErrors(config);
  if (incomplete.length) invalidConfig(`config is invalid or incomplete: ${incomplete.join('\n')}`);
  if (config.entrypoint === null || config.entrypoint === undefined) throw apiError('InvalidArgument', 'managed experiments require entrypoint');

  const searcher = config.searcher as JsonObject;
  const sourceUuid = typeof searcher.source_checkpoint_uuid === 'string' ? searcher.source_checkpoint_uuid : null;
  if (sourceUuid && !store.checkpoint(sourceUuid)) {
    throw apiError('InvalidArgument', `invalid experiment configuration: searcher.source_checkpoint_uuid: checkpoint not found: ${sourceUuid}`);
  }
  if (body.validateOnly === true) return { experiment: null, config, warnings: [] };

  const id = store.nextId('experiment');
  const trialId = store.nextId('trial');
  const now = new Date().toISOString();
  const labels = Array.isArray(config.labels) ? [...new Set(config.labels as string[])] : [];
  const exp: ExperimentRecord = {
    id,
    name: String(config.name),
    description: typeof config.description === 'string' ? config.description : '',
    notes: '',
    labels,
    state: 'STATE_PAUSED',
    archived: false,
    projectId: body.projectId ? Number(body.projectId) : 1,
    userId: user.id,
    username: user.username,
    originalConfig: body.config,
    config,
    parentId: parent ? parent.id : null,
    sourceCheckpointUuid: sourceUuid,
    startTime: now,
    endTime: null,
    trialIds: [trialId],
    jobId: crypto.randomUUID(),
    stateSince: now,
    // With a parent, the master always reuses the parent's model definition.
    modelDefinitionOf: parent ? (parent.modelDefinitionOf ?? parent.id) : id,
    modelDefinitionSize: 0,
    outcome: null,
    runner: master.runs.runnerKind,
  };
  if (!parent) store.saveModelDefinition(id, files);
  exp.modelDefinitionSize = fs.existsSync(store.modelDefinitionPath(exp.modelDefinitionOf ?? id))
    ? store.loadModelDefinition(exp.modelDefinitionOf ?? id).reduce((n, f) => n + Buffer.byteLength(f.content, 'base64'), 0)
    : 0;
  const trial: TrialRecord = {
    id: trialId,
    experimentId: id,
    state: 'STATE_PAUSED',
    startTime: now,
    endTime: null,
    hparams: sampleHparams(config.hyperparameters),
    restarts: 0,
    totalBatchesProcessed: 0,
    trainingMetrics: [],
    validationMetrics: [],
    checkpointUuids: [],
    taskId: `${id}.${trialId}`,
    warmStartCheckpointUuid: sourceUuid ?? '',
  };
  store.state.experiments.push(exp);
  store.state.trials.push(trial);
  store.save();
  if (body.activate === true) master.runs.start(exp);
  return { experiment: experimentJson(store, exp), config, warnings: [] };
}
