// The Seldon Deploy REST API (v1alpha1): SeldonDeployments and their drift / outlier detectors.
import crypto from 'node:crypto';
import { HttpError, type Handler, type RequestContext, type Router } from '../common/router';
import { readJson, sendJson } from '../common/body';
import { SELDON_DEPLOY_BASE_PATH, type SeldonContract } from './contract';
import { deploymentKey, type SeldonStore, type StoredDeployment } from './store';
import type { RolloutController } from './rollouts';
import type { OidcIssuer } from './oidc';
import { admitSeldonDeployment, checkDnsLabel, InvalidObjectError, NamespaceMismatchError, SDEP_API_VERSION } from './validation';
import { kubeTime } from './status';
import type { DetectorConfiguration, DetectorData, DetectorKind, SeldonDeployment } from './types';

const GROUP_RESOURCE = 'seldondeployments.machinelearning.seldon.io';

/** Seldon Deploy's error shape: `{code, message, requestId}`. */
export function deployError(status: number, message: string): { code: number; message: string; requestId: string } {
  return { code: status, message, requestId: crypto.randomUUID() };
}

const fail = (status: number, message: string) => new HttpError(status, deployError(status, message));

export interface DeployApiDeps {
  router: Router;
  store: SeldonStore;
  rollouts: RolloutController;
  oidc: OidcIssuer;
  contract: SeldonContract;
  /** Called with a description of every answer (or accepted body) the real specs would reject. */
  onViolation: (violation: string) => void;
}

export function addDeployApiRoutes({ router, store, rollouts, oidc, contract, onViolation }: DeployApiDeps): void {
  const base = SELDON_DEPLOY_BASE_PATH;

  /** Checks an answer against the swagger (and the CRD for SeldonDeployments); reports, never blocks. */
  const audit = (ctx: RequestContext, status: number, answer: unknown) => {
    const found = contract.findOperation(ctx.method, ctx.path);
    if (!found) return onViolation(`${ctx.method} ${ctx.path}: no swagger operation`);
    const problems = contract.validateResponse(ctx.method, ctx.path, status, answer).errors;
    if (status === 200 && (answer as { kind?: string } | null)?.kind === 'SeldonDeployment') {
      problems.push(...contract.validateSeldonDeployment(answer).errors);
    }
    if (problems.length) onViolation(`${ctx.method} ${ctx.path} ${status}: ${problems.join('; ')}`);
  };

  const reply = (ctx: RequestContext, answer: unknown) => {
    audit(ctx, 200, answer);
    sendJson(ctx.res, 200, answer);
  };

  /** Every API route needs a valid bearer token (401 in Deploy's error shape otherwise); errors are audited too. */
  const authed =
    (handler: Handler): Handler =>
    async (ctx) => {
      try {
        const check = oidc.verifyBearer(ctx.req.headers.authorization);
        if (check.error) throw fail(401, `Unauthorized: ${check.error}`);
        await handler(ctx);
      } catch (err) {
        if (err instanceof HttpError) audit(ctx, err.status, err.body);
        throw err;
      }
    };

  const body = (ctx: RequestContext) => readJson<unknown>(ctx.req, (m) => fail(400, m));

  const requireNamespace = (ns: string) => {
    const bad = checkDnsLabel(ns, 'namespace');
    if (bad) throw fail(400, bad);
  };

  const requireDeployment = (ns: string, name: string): StoredDeployment => {
    const record = store.get(ns, name);
    if (!record) throw fail(404, `${GROUP_RESOURCE} "${name}" not found`);
    return record;
  };

  /** Runs admission and maps its errors to Kubernetes' status codes. */
  const admit = (raw: unknown, ns: string): SeldonDeployment => {
    try {
      const admitted = admitSeldonDeployment(contract, raw, ns);
      const problems = contract.validateDefinition('SeldonDeployment', admitted).errors;
      if (problems.length) onViolation(`accepted SeldonDeployment ${admitted.metadata.name}: ${problems.join('; ')}`);
      return admitted;
    } catch (err) {
      if (err instanceof InvalidObjectError || err instanceof NamespaceMismatchError) throw fail(400, err.message);
      throw err;
    }
  };

  router.get(`${base}/namespaces/:namespace/seldondeployments`, authed((ctx) => {
    const { params } = ctx;
    requireNamespace(params.namespace);
    const items = Object.values(store.state.deployments)
      .filter((d) => d.resource.metadata.namespace === params.namespace)
      .map((d) => d.resource)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    reply(ctx, {
      apiVersion: SDEP_API_VERSION,
      kind: 'SeldonDeploymentList',
      metadata: { resourceVersion: String(store.state.resourceVersion) },
      items,
    });
  }));

  router.post(`${base}/namespaces/:namespace/seldondeployments`, authed(async (ctx) => {
    const ns = ctx.params.namespace;
    requireNamespace(ns);
    const sdep = admit(await body(ctx), ns);
    const name = sdep.metadata.name;
    if (store.get(ns, name)) throw fail(409, `${GROUP_RESOURCE} "${name}" already exists`);
    const { labels, annotations } = sdep.metadata;
    const record: StoredDeployment = {
      resource: {
        apiVersion: SDEP_API_VERSION,
        kind: 'SeldonDeployment',
        metadata: {
          name,
          namespace: ns,
          uid: crypto.randomUUID(),
          generation: 1,
          resourceVersion: '',
          creationTimestamp: kubeTime(),
          ...(labels ? { labels } : {}),
          ...(annotations ? { annotations } : {}),
        },
        spec: sdep.spec,
      },
      detectors: { drift: {}, outlier: {} },
    };
    // No status yet: it is a subresource only the controller writes, a while later (staleStatusMs).
    record.resource.metadata.resourceVersion = store.nextResourceVersion();
    store.state.deployments[deploymentKey(ns, name)] = record;
    store.save();
    rollouts.start(ns, name);
    reply(ctx, record.resource);
  }));

  // ValidateSeldonDeployment: a GET whose body is the SeldonDeployment to check; admitted as a create would be,
  // nothing stored. Registered before `/:name`, which would take "validate" for a deployment's name.
  router.get(`${base}/namespaces/:namespace/seldondeployments/validate`, authed(async (ctx) => {
    const ns = ctx.params.namespace;
    requireNamespace(ns);
    const raw = await body(ctx);
    // The generated SDKs drop the body of a GET (an empty body reads as {}): say what is missing.
    if (raw && typeof raw === 'object' && Object.keys(raw).length === 0) {
      throw fail(400, 'a SeldonDeployment is required in the request body (the mldeployment parameter)');
    }
    const sdep = admit(raw, ns);
    reply(ctx, { code: 200, message: `SeldonDeployment "${sdep.metadata.name}" is valid` });
  }));

  router.get(`${base}/namespaces/:namespace/seldondeployments/:name`, authed((ctx) => {
    const { params } = ctx;
    reply(ctx, requireDeployment(params.namespace, params.name).resource);
  }));

  router.put(`${base}/namespaces/:namespace/seldondeployments/:name`, authed(async (ctx) => {
    const { namespace: ns, name } = ctx.params;
    requireNamespace(ns);
    const sdep = admit(await body(ctx), ns);
    if (sdep.metadata.name !== name) {
      throw fail(400, `the name of the object (${sdep.metadata.name}) does not match the name on the URL (${name})`);
    }
    const record = requireDeployment(ns, name);
    const current = record.resource.metadata;
    // A custom resource allows no unconditional update: the API server wants the resourceVersion the client read.
    const sentVersion = sdep.metadata.resourceVersion;
    if (!sentVersion) {
      throw fail(422, `${GROUP_RESOURCE} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`);
    }
    if (sentVersion !== current.resourceVersion) {
      throw fail(
        409,
        `Operation cannot be fulfilled on ${GROUP_RESOURCE} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const specChanged = JSON.stringify(sdep.spec) !== JSON.stringify(record.resource.spec);
    current.labels = sdep.metadata.labels;
    current.annotations = sdep.metadata.annotations;
    if (!current.labels) delete current.labels;
    if (!current.annotations) delete current.annotations;
    if (specChanged) {
      record.resource.spec = sdep.spec;
      current.generation = (current.generation ?? 1) + 1;
    }
    current.resourceVersion = store.nextResourceVersion();
    store.save();
    // A rolling update: the serving generation keeps answering while the new one rolls out. The answer carries the
    // previous status (state, conditions) until the controller catches up, as on a real cluster.
    if (specChanged) rollouts.start(ns, name);
    reply(ctx, record.resource);
  }));

  router.delete(`${base}/namespaces/:namespace/seldondeployments/:name`, authed(async (ctx) => {
    const { params } = ctx;
    const { namespace: ns, name } = params;
    const record = requireDeployment(ns, name);
    // Detectors belong to their deployment (owner references): they go with it.
    delete store.state.deployments[deploymentKey(ns, name)];
    store.nextResourceVersion();
    store.save();
    await rollouts.remove(ns, name);
    reply(ctx, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: 'machinelearning.seldon.io', kind: 'seldondeployments', uid: record.resource.metadata.uid },
    });
  }));

  for (const kind of ['drift', 'outlier'] as DetectorKind[]) {
    const path = `${base}/namespaces/:namespace/seldondeployments/:name/monitor/${kind}-detector`;

    router.get(path, authed((ctx) => {
    const { params } = ctx;
      const record = requireDeployment(params.namespace, params.name);
      reply(ctx, Object.values(record.detectors[kind]).sort((a, b) => a.name.localeCompare(b.name)));
    }));

    router.post(path, authed(async (ctx) => {
      const { namespace: ns, name } = ctx.params;
      const record = requireDeployment(ns, name);
      const raw = await body(ctx);
      const checked = contract.validateDefinition('DetectorConfigData', raw);
      if (!checked.valid) throw fail(400, `invalid ${kind} detector: ${checked.errors.join('; ')}`);
      const data = (raw ?? {}) as { name?: string; config?: DetectorConfiguration };
      if (!data.name) throw fail(400, `invalid ${kind} detector: name is required`);
      const badName = checkDnsLabel(data.name, 'name');
      if (badName) throw fail(400, `invalid ${kind} detector: ${badName}`);
      if (!data.config?.basic?.storage_uri) throw fail(400, `invalid ${kind} detector: config.basic.storage_uri is required`);
      if (record.detectors[kind][data.name]) throw fail(409, `${kind} detector "${data.name}" already exists for ${ns}/${name}`);
      const detector: DetectorData = {
        name: data.name,
        namespace: ns,
        deployment_name: name,
        deployment_kind: 'SeldonDeployment',
        detector_type: kind,
        status: 'Ready',
        config: data.config,
      };
      record.detectors[kind][data.name] = detector;
      store.save();
      reply(ctx, detector);
    }));

    router.get(`${path}/:detectorName`, authed((ctx) => {
    const { params } = ctx;
      const record = requireDeployment(params.namespace, params.name);
      const detector = record.detectors[kind][params.detectorName];
      if (!detector) throw fail(404, `${kind} detector "${params.detectorName}" not found for ${params.namespace}/${params.name}`);
      reply(ctx, detector);
    }));

    router.delete(`${path}/:detectorName`, authed((ctx) => {
    const { params } = ctx;
      const record = requireDeployment(params.namespace, params.name);
      if (!record.detectors[kind][params.detectorName]) {
        throw fail(404, `${kind} detector "${params.detectorName}" not found for ${params.namespace}/${params.name}`);
      }
      delete record.detectors[kind][params.detectorName];
      store.save();
      reply(ctx, { code: 200, message: `${kind} detector ${params.detectorName} deleted` });
    }));
  }
}
