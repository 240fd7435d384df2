// Admission of SeldonDeployment bodies as the Kubernetes API server and Seldon Core's webhook do it:
// prune fields the CRD does not know, validate against the CRD schema, then the webhook's own checks.
import type { ErrorObject } from 'ajv';
import type { JsonSchema, SeldonContract } from './contract';
import type { Container, PredictorSpec, SeldonDeployment } from './types';

export const SDEP_API_VERSION = 'machinelearning.seldon.io/v1';
export const SDEP_KIND = 'SeldonDeployment';
const RESOURCE = 'SeldonDeployment.machinelearning.seldon.io';

/** A Kubernetes-style validation failure; `causes` each name a field. */
export class InvalidObjectError extends Error {
  constructor(
    readonly objectName: string,
    readonly causes: string[],
  ) {
    super(`${RESOURCE} "${objectName}" is invalid: ${causes.length === 1 ? causes[0] : `[${causes.join(', ')}]`}`);
  }
}

/** Drops fields the schema does not declare, as the API server prunes CRD objects (structural schemas). */
export function pruneUnknownFields(value: unknown, schema: JsonSchema | undefined): unknown {
  if (!schema || schema['x-kubernetes-preserve-unknown-fields'] === true) return value;
  if (Array.isArray(value)) {
    const items = schema.items as JsonSchema | undefined;
    return value.map((item) => pruneUnknownFields(item, items));
  }
  if (value === null || typeof value !== 'object') return value;
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const additional = schema.additionalProperties;
  // An object schema without properties (e.g. `metadata: {type: object}`) keeps its content.
  if (!properties && (additional === undefined || additional === true)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (properties && key in properties) out[key] = pruneUnknownFields(child, properties[key]);
    else if (typeof additional === 'object' && additional !== null) out[key] = pruneUnknownFields(child, additional as JsonSchema);
  }
  return out;
}

/** `/spec/predictors/0/graph` → `spec.predictors[0].graph` (the field path style of Kubernetes messages). */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (extra) parts.push(extra);
  let out = '';
  for (const part of parts) {
    const decoded = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(decoded) ? `[${decoded}]` : out ? `.${decoded}` : decoded;
  }
  return out || '<root>';
}

function valueAt(root: unknown, instancePath: string): unknown {
  let node = root;
  for (const part of instancePath.split('/').filter(Boolean)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

/** Turns ajv errors into Kubernetes' wording: `spec.predictors[0].graph: Required value`. */
function kubernetesCauses(errors: ErrorObject[], root: unknown): string[] {
  const causes: string[] = [];
  for (const e of errors) {
    if (e.keyword === 'anyOf') continue; // its branches are already reported
    if (e.keyword === 'required') {
      causes.push(`${fieldPath(e.instancePath, (e.params as { missingProperty: string }).missingProperty)}: Required value`);
      continue;
    }
    const field = fieldPath(e.instancePath);
    const got = JSON.stringify(valueAt(root, e.instancePath));
    if (e.keyword === 'type') {
      causes.push(`${field}: Invalid value: ${got}: ${field} in body must be of type ${(e.params as { type: string }).type}: ${got}`);
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
      causes.push(`${field}: Unsupported value: ${got}: supported values: ${allowed}`);
    } else {
      causes.push(`${field}: Invalid value: ${got}: ${field} in body ${e.message ?? 'is invalid'}`);
    }
  }
  return [...new Set(causes)];
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkDnsSubdomain(value: string, field: string): string | undefined {
  if (value.length > 253) return `${field}: Invalid value: ${JSON.stringify(value)}: must be no more than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return (
      `${field}: Invalid value: ${JSON.stringify(value)}: a lowercase RFC 1123 subdomain must consist of lower case ` +
      `alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`
    );
  }
  return undefined;
}

export function checkDnsLabel(value: string, field: string): string | undefined {
  if (value.length > 63 || !DNS1123_LABEL.test(value)) {
    return (
      `${field}: Invalid value: ${JSON.stringify(value)}: a lowercase RFC 1123 label must consist of lower case ` +
      `alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters`
    );
  }
  return undefined;
}

/** The container a predictive unit runs in: Seldon Core matches the graph unit's name to a container name. */
export function containerForUnit(predictor: PredictorSpec, unitName: string): Container | undefined {
  for (const component of predictor.componentSpecs ?? []) {
    const found = component.spec?.containers?.find((c) => c.name === unitName);
    if (found) return found;
  }
  return undefined;
}

/** Seldon Core webhook checks the CRD schema cannot express. */
function seldonWebhookCauses(sdep: SeldonDeployment): string[] {
  const causes: string[] = [];
  const predictors = sdep.spec.predictors;
  if (predictors.length === 0) causes.push('spec.predictors: Required value: at least one predictor is needed');
  const names = new Set<string>();
  let traffic = 0;
  predictors.forEach((p, i) => {
    if (names.has(p.name)) causes.push(`spec.predictors[${i}].name: Duplicate value: ${JSON.stringify(p.name)}`);
    names.add(p.name);
    traffic += p.shadow ? 0 : (p.traffic ?? 0);
    const walk = (unit: PredictorSpec['graph'], path: string) => {
      if (!unit.implementation && !containerForUnit(p, unit.name)) {
        causes.push(`${path}: Invalid value: ${JSON.stringify(unit.name)}: can't find container for predictive unit with name ${unit.name}`);
      }
      unit.children?.forEach((child, j) => walk(child, `${path}.children[${j}]`));
    };
    walk(p.graph, `spec.predictors[${i}].graph`);
  });
  if (predictors.filter((p) => !p.shadow).length > 1 && traffic !== 100) {
    causes.push(`spec.predictors: Invalid value: ${traffic}: traffic must sum to 100 for multiple predictors`);
  }
  return causes;
}

/**
 * Admits a SeldonDeployment body for `namespace` (and `name` on update): returns the pruned object, or throws
 * InvalidObjectError / a plain Error (for envelope problems) with a message naming the field.
 */
export function admitSeldonDeployment(
  contract: SeldonContract,
  body: unknown,
  namespace: string,
): SeldonDeployment {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidObjectError('', ['<root>: Invalid value: the body must be a SeldonDeployment object']);
  }
  const raw = body as Record<string, unknown>;
  const meta = (raw.metadata ?? {}) as Record<string, unknown>;
  const name = typeof meta.name === 'string' ? meta.name : '';
  const envelope: string[] = [];
  if (raw.apiVersion !== SDEP_API_VERSION) {
    envelope.push(`apiVersion: Unsupported value: ${JSON.stringify(raw.apiVersion ?? '')}: supported values: "${SDEP_API_VERSION}"`);
  }
  if (raw.kind !== SDEP_KIND) envelope.push(`kind: Unsupported value: ${JSON.stringify(raw.kind ?? '')}: supported values: "${SDEP_KIND}"`);
  if (!name) envelope.push('metadata.name: Required value: name is required');
  else {
    const bad = checkDnsSubdomain(name, 'metadata.name');
    if (bad) envelope.push(bad);
  }
  if (meta.namespace !== undefined && meta.namespace !== namespace) {
    throw new NamespaceMismatchError();
  }
  if (envelope.length > 0) throw new InvalidObjectError(name, envelope);

  const pruned = pruneUnknownFields(raw, contract.crdSchema) as Record<string, unknown>;
  const result = contract.validateSeldonDeployment(pruned);
  if (!result.valid) throw new InvalidObjectError(name, kubernetesCauses(result.details, pruned));
  const sdep = pruned as unknown as SeldonDeployment;
  const webhook = seldonWebhookCauses(sdep);
  if (webhook.length > 0) throw new InvalidObjectError(name, webhook);
  return sdep;
}

/** Kubernetes' own wording for a body whose namespace differs from the URL's. */
export class NamespaceMismatchError extends Error {
  constructor() {
    super('the namespace of the provided object does not match the namespace sent on the request');
  }
}
