// The model registry: models and their versions (each version carries its full checkpoint).
import type { Router } from '../../common/router';
import { sendJson } from '../../common/body';
import { apiError } from '../errors';
import { authed, enumParam, intParam, ORDER_BY, readApiJson, type MasterContext } from '../context';
import type { JsonObject, ModelRecord, ModelVersionRecord } from '../store';
import { modelJson, modelVersionJson } from '../wire';
import { pageParams, paginate } from '../pagination';

const MODEL_SORT = [
  'SORT_BY_UNSPECIFIED', 'SORT_BY_NAME', 'SORT_BY_DESCRIPTION', '', 'SORT_BY_CREATION_TIME', 'SORT_BY_LAST_UPDATED_TIME',
  'SORT_BY_NUM_VERSIONS', 'SORT_BY_WORKSPACE',
] as const;
const VERSION_SORT = ['SORT_BY_UNSPECIFIED', '', '', 'SORT_BY_VERSION', 'SORT_BY_CREATION_TIME'] as const;

function optionalString(body: JsonObject, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw apiError('InvalidArgument', `${key} must be a string`);
  return v;
}

function optionalObject(body: JsonObject, key: string): JsonObject | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw apiError('InvalidArgument', `${key} must be an object`);
  return v as JsonObject;
}

function optionalLabels(body: JsonObject): string[] | undefined {
  const v = body.labels;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((l) => typeof l === 'string')) throw apiError('InvalidArgument', 'labels must be an array of strings');
  return [...new Set(v as string[])];
}

/** The master's clearModelName (master/internal/api_model.go): the checks a new or renamed model's name must pass. */
function checkModelName(name: string | undefined): string {
  if (!name || !name.replace(/ /g, '')) throw apiError('InvalidArgument', 'model names cannot be blank');
  if (name.includes('  ')) throw apiError('InvalidArgument', 'model names cannot have excessive spacing');
  if (name.includes('/') || name.includes('\\')) throw apiError('InvalidArgument', 'model names cannot have slashes');
  // An all-digit name would be read back as a model id by GET /api/v1/models/{name}.
  if (/^\d+$/.test(name)) throw apiError('InvalidArgument', 'model names cannot be only numbers');
  return name;
}

const DUPLICATE_MODEL = 'avoid names equal to other models (case-sensitive)';

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function addModelRoutes(router: Router, master: MasterContext): void {
  const { store } = master;

  const modelOr404 = (name: string): ModelRecord => {
    // As ModelFromIdentifier: an all-digit identifier is a model id, anything else a name.
    const model = /^\d+$/.test(name) ? store.state.models.find((m) => m.id === Number(name)) : store.model(name);
    if (!model) throw apiError('NotFound', `model "${name}" not found`);
    return model;
  };
  const versionOr404 = (model: ModelRecord, identifier: string, num: string): ModelVersionRecord => {
    const n = intParam(num, 'modelVersionNum');
    const version = store.state.modelVersions.find((v) => v.modelId === model.id && v.version === n);
    // The master names the model as the caller did (its name or its id).
    if (!version) throw apiError('NotFound', `version ${n} for model ${JSON.stringify(identifier)} not found`);
    return version;
  };

  router.post('/api/v1/models', authed(master, async (ctx, user) => {
    const body = await readApiJson<JsonObject>(ctx);
    const name = checkModelName(optionalString(body, 'name'));
    if (store.model(name)) throw apiError('AlreadyExists', DUPLICATE_MODEL);
    const now = new Date().toISOString();
    const model: ModelRecord = {
      id: store.nextId('model'),
      name,
      description: optionalString(body, 'description') ?? '',
      metadata: optionalObject(body, 'metadata') ?? {},
      labels: optionalLabels(body) ?? [],
      notes: optionalString(body, 'notes') ?? '',
      creationTime: now,
      lastUpdatedTime: now,
      userId: user.id,
      username: user.username,
      archived: false,
      workspaceId: typeof body.workspaceId === 'number' ? body.workspaceId : 1,
    };
    store.state.models.push(model);
    store.save();
    sendJson(ctx.res, 200, { model: modelJson(store, model) });
  }));

  router.get('/api/v1/models', authed(master, (ctx) => {
    const q = ctx.query;
    let items = [...store.state.models];
    // Like the master: name and description match as substrings (ILIKE '%name%'), labels all.
    const name = q.get('name');
    if (name) items = items.filter((m) => m.name.toLowerCase().includes(name.toLowerCase()));
    const description = q.get('description');
    if (description) items = items.filter((m) => m.description.toLowerCase().includes(description.toLowerCase()));
    const labels = q.getAll('labels');
    if (labels.length) items = items.filter((m) => labels.every((l) => m.labels.includes(l)));
    const archived = q.get('archived');
    if (archived === 'true' || archived === 'false') items = items.filter((m) => m.archived === (archived === 'true'));
    const sortBy = enumParam(q.get('sortBy'), 'sortBy', MODEL_SORT, 'SORT_BY_UNSPECIFIED');
    const orderBy = enumParam(q.get('orderBy'), 'orderBy', ORDER_BY, 'ORDER_BY_UNSPECIFIED');
    const key = (m: ModelRecord): string | number => {
      switch (sortBy) {
        case 'SORT_BY_NAME': return m.name;
        case 'SORT_BY_DESCRIPTION': return m.description;
        case 'SORT_BY_CREATION_TIME': return m.creationTime;
        case 'SORT_BY_LAST_UPDATED_TIME': return m.lastUpdatedTime;
        case 'SORT_BY_NUM_VERSIONS': return store.state.modelVersions.filter((v) => v.modelId === m.id).length;
        default: return m.id;
      }
    };
    items.sort((a, b) => compare(key(a), key(b)) || a.id - b.id);
    if (orderBy === 'ORDER_BY_DESC') items.reverse();
    const { page, pagination } = paginate(items, pageParams(q));
    sendJson(ctx.res, 200, { models: page.map((m) => modelJson(store, m)), pagination });
  }));

  router.get('/api/v1/models/:name', authed(master, (ctx) => sendJson(ctx.res, 200, { model: modelJson(store, modelOr404(ctx.params.name)) })));

  router.patch('/api/v1/models/:name', authed(master, async (ctx) => {
    const model = modelOr404(ctx.params.name);
    const patch = await readApiJson<JsonObject>(ctx);
    const name = optionalString(patch, 'name');
    if (name !== undefined && name !== model.name) {
      checkModelName(name);
      if (store.model(name)) throw apiError('AlreadyExists', DUPLICATE_MODEL);
      model.name = name;
    }
    model.description = optionalString(patch, 'description') ?? model.description;
    model.notes = optionalString(patch, 'notes') ?? model.notes;
    model.metadata = optionalObject(patch, 'metadata') ?? model.metadata;
    model.labels = optionalLabels(patch) ?? model.labels;
    model.lastUpdatedTime = new Date().toISOString();
    store.save();
    sendJson(ctx.res, 200, { model: modelJson(store, model) });
  }));

  // DeleteModel: the model and every version of it (their checkpoints stay with their experiments).
  router.delete('/api/v1/models/:name', authed(master, (ctx) => {
    const model = modelOr404(ctx.params.name);
    store.state.models = store.state.models.filter((m) => m.id !== model.id);
    store.state.modelVersions = store.state.modelVersions.filter((v) => v.modelId !== model.id);
    store.save();
    sendJson(ctx.res, 200, {});
  }));

  router.post('/api/v1/models/:name/versions', authed(master, async (ctx, user) => {
    const model = modelOr404(ctx.params.name);
    const body = await readApiJson<JsonObject>(ctx);
    const uuid = optionalString(body, 'checkpointUuid');
    if (!uuid) throw apiError('InvalidArgument', 'checkpointUuid is required');
    const checkpoint = store.checkpoint(uuid);
    if (!checkpoint) throw apiError('NotFound', `checkpoint ${uuid} not found`);
    if (checkpoint.state !== 'STATE_COMPLETED') throw apiError('InvalidArgument', `checkpoint ${uuid} is in state ${checkpoint.state}, not STATE_COMPLETED`);
    if (model.archived) throw apiError('FailedPrecondition', `model "${model.name}" is archived and cannot have new versions`);
    const existing = store.state.modelVersions.filter((v) => v.modelId === model.id);
    const version = existing.reduce((max, v) => Math.max(max, v.version), 0) + 1;
    const now = new Date().toISOString();
    const record: ModelVersionRecord = {
      id: store.nextId('modelVersion'),
      modelId: model.id,
      version,
      checkpointUuid: uuid,
      name: optionalString(body, 'name') ?? '',
      comment: optionalString(body, 'comment') ?? '',
      metadata: optionalObject(body, 'metadata') ?? {},
      labels: optionalLabels(body) ?? [],
      notes: optionalString(body, 'notes') ?? '',
      creationTime: now,
      lastUpdatedTime: now,
      userId: user.id,
      username: user.username,
    };
    store.state.modelVersions.push(record);
    model.lastUpdatedTime = now;
    store.save();
    sendJson(ctx.res, 200, { modelVersion: modelVersionJson(store, record) });
  }));

  router.get('/api/v1/models/:name/versions', authed(master, (ctx) => {
    const model = modelOr404(ctx.params.name);
    const q = ctx.query;
    const sortBy = enumParam(q.get('sortBy'), 'sortBy', VERSION_SORT, 'SORT_BY_UNSPECIFIED');
    const orderBy = enumParam(q.get('orderBy'), 'orderBy', ORDER_BY, 'ORDER_BY_UNSPECIFIED');
    const items = store.state.modelVersions.filter((v) => v.modelId === model.id);
    const key = (v: ModelVersionRecord) => (sortBy === 'SORT_BY_CREATION_TIME' ? v.creationTime : v.version);
    items.sort((a, b) => compare(key(a), key(b)) || a.version - b.version);
    if (orderBy === 'ORDER_BY_DESC') items.reverse();
    const { page, pagination } = paginate(items, pageParams(q));
    sendJson(ctx.res, 200, { model: modelJson(store, model), modelVersions: page.map((v) => modelVersionJson(store, v)), pagination });
  }));

  router.get('/api/v1/models/:name/versions/:num', authed(master, (ctx) => {
    const model = modelOr404(ctx.params.name);
    sendJson(ctx.res, 200, { modelVersion: modelVersionJson(store, versionOr404(model, ctx.params.name, ctx.params.num)) });
  }));

  router.patch('/api/v1/models/:name/versions/:num', authed(master, async (ctx) => {
    const model = modelOr404(ctx.params.name);
    const version = versionOr404(model, ctx.params.name, ctx.params.num);
    const patch = await readApiJson<JsonObject>(ctx);
    version.name = optionalString(patch, 'name') ?? version.name;
    version.comment = optionalString(patch, 'comment') ?? version.comment;
    version.notes = optionalString(patch, 'notes') ?? version.notes;
    version.metadata = optionalObject(patch, 'metadata') ?? version.metadata;
    version.labels = optionalLabels(patch) ?? version.labels;
    version.lastUpdatedTime = new Date().toISOString();
    store.save();
    sendJson(ctx.res, 200, { modelVersion: modelVersionJson(store, version) });
  }));
}
