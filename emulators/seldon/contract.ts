// Validators built from the real Seldon specs: the Seldon Deploy swagger (Swagger 2.0) and the SeldonDeployment CRD.
// The emulator uses them on every request it accepts; tests and other engineers use them on what they send and get.
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import yaml from 'js-yaml';
import { requireApiSpecsDir } from '../common/specs';

export const SELDON_DEPLOY_BASE_PATH = '/seldon-deploy/api/v1alpha1';

export type JsonSchema = Record<string, unknown>;

export interface ValidationResult {
  valid: boolean;
  /** One readable line per problem, e.g. `/spec/predictors/0: must have required property 'graph'`. */
  errors: string[];
  /** Raw ajv errors, for callers that want instance paths. */
  details: ErrorObject[];
}

interface SwaggerParameter {
  in: string;
  name: string;
  schema?: JsonSchema;
}
interface SwaggerResponse {
  $ref?: string;
  schema?: JsonSchema;
}
interface SwaggerOperation {
  operationId: string;
  parameters?: SwaggerParameter[];
  responses: Record<string, SwaggerResponse>;
}
interface SwaggerDocument {
  basePath: string;
  definitions: Record<string, JsonSchema>;
  responses: Record<string, { schema?: JsonSchema }>;
  paths: Record<string, Record<string, SwaggerOperation>>;
}

/** The condition shape of the CRD: Deploy's swagger has a self-referencing `Conditions`, a generator glitch. */
const CONDITIONS_WIRE_SCHEMA: JsonSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['status', 'type'],
    properties: {
      lastTransitionTime: { type: 'string' },
      message: { type: 'string' },
      reason: { type: 'string' },
      severity: { type: 'string' },
      status: { type: 'string' },
      type: { type: 'string' },
    },
  },
};

/**
 * Swagger definitions that describe Go structs instead of their JSON form. Kubernetes marshals IntOrString as an
 * integer or a string and Quantity as a string (or a number), so the wire forms replace them.
 */
const SWAGGER_WIRE_PATCHES: Record<string, JsonSchema> = {
  Conditions: CONDITIONS_WIRE_SCHEMA,
  IntOrString: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
  Quantity: { anyOf: [{ type: 'string' }, { type: 'number' }] },
};

function newAjv(): Ajv {
  // strict:false because the specs carry vendor keywords (x-kubernetes-*, x-go-*) ajv does not know.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  for (const name of ['uint32', 'uint64']) {
    ajv.addFormat(name, { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  }
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  return ajv;
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath || '(root)';
    if (e.keyword === 'additionalProperties') {
      return `${where}: unknown field ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`;
    }
    return `${where}: ${e.message ?? e.keyword}`;
  });
}

function run(validate: ValidateFunction, value: unknown): ValidationResult {
  const valid = validate(value) as boolean;
  const details = valid ? [] : [...(validate.errors ?? [])];
  return { valid, errors: describe(details), details };
}

/** Matches a concrete path (with or without the base path) to a swagger path template. */
function templateRegex(template: string): RegExp {
  const pattern = template
    .split('/')
    .map((seg) => (/^\{[^}]+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}$`);
}

export class SeldonContract {
  private readonly ajv = newAjv();
  private readonly crdAjv = newAjv();
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly crdValidator: ValidateFunction;
  private readonly templates: { template: string; regex: RegExp; literalSegments: number }[];

  constructor(
    readonly swagger: SwaggerDocument,
    /** The CRD's `openAPIV3Schema` for version v1. */
    readonly crdSchema: JsonSchema,
  ) {
    const definitions = { ...swagger.definitions, ...SWAGGER_WIRE_PATCHES };
    this.ajv.addSchema({ $id: 'seldon-deploy', definitions });
    this.crdValidator = this.crdAjv.compile(crdSchema);
    this.templates = Object.keys(swagger.paths).map((template) => ({
      template,
      regex: templateRegex(template),
      literalSegments: template.split('/').filter((s) => s && !s.startsWith('{')).length,
    }));
    // A literal segment beats a parameter: `/seldondeployments/validate` is not a deployment called "validate".
    this.templates.sort((a, b) => b.literalSegments - a.literalSegments);
  }

  /** Validates a value against a swagger definition, e.g. `DetectorConfigData`, `SeldonDeployment`, `Error`. */
  validateDefinition(name: string, value: unknown): ValidationResult {
    if (!(name in this.swagger.definitions) && !(name in SWAGGER_WIRE_PATCHES)) {
      throw new Error(`unknown Seldon Deploy swagger definition: ${name}`);
    }
    return this.validateSchema({ $ref: `#/definitions/${name}` }, `def:${name}`, value);
  }

  /** Validates a whole SeldonDeployment object against the CRD's openAPIV3Schema (what the Kubernetes API server enforces). */
  validateSeldonDeployment(value: unknown): ValidationResult {
    return run(this.crdValidator, value);
  }

  /** The swagger operation of a request, by method and concrete path (`/seldon-deploy/api/v1alpha1/...` or relative). */
  findOperation(method: string, requestPath: string): { template: string; operation: SwaggerOperation } | undefined {
    const relative = requestPath.startsWith(this.swagger.basePath) ? requestPath.slice(this.swagger.basePath.length) : requestPath;
    const clean = relative.split('?')[0];
    for (const { template, regex } of this.templates) {
      if (!regex.test(clean)) continue;
      const operation = this.swagger.paths[template][method.toLowerCase()];
      if (operation) return { template, operation };
    }
    return undefined;
  }

  /** Validates a request body against the operation's `in: body` parameter schema. */
  validateRequest(method: string, requestPath: string, body: unknown): ValidationResult {
    const found = this.requireOperation(method, requestPath);
    const param = found.operation.parameters?.find((p) => p.in === 'body');
    if (!param?.schema) {
      return body === undefined ? ok() : fail(`${found.operation.operationId} takes no request body`);
    }
    return this.validateSchema(param.schema, `req:${found.operation.operationId}`, body);
  }

  /**
   * Validates a response body against the operation's response for that status. Statuses the swagger does not
   * declare (401, 404, 409 on some operations) are checked against `Error`, the shape every Deploy error has.
   */
  validateResponse(method: string, requestPath: string, status: number, body: unknown): ValidationResult {
    const found = this.requireOperation(method, requestPath);
    const declared = found.operation.responses[String(status)] ?? found.operation.responses.default;
    let schema: JsonSchema | undefined;
    if (declared) {
      schema = declared.$ref ? this.swagger.responses[declared.$ref.replace('#/responses/', '')]?.schema : declared.schema;
    } else if (status >= 400) {
      schema = { $ref: '#/definitions/Error' };
    } else {
      return fail(`${found.operation.operationId} does not declare status ${status}`);
    }
    if (!schema) return ok();
    return this.validateSchema(schema, `res:${found.operation.operationId}:${status}`, body);
  }

  private validateSchema(schema: JsonSchema, key: string, value: unknown): ValidationResult {
    let validate = this.cache.get(key);
    if (!validate) {
      validate = this.ajv.compile(rewriteRefs(schema));
      this.cache.set(key, validate);
    }
    return run(validate, value);
  }

  private requireOperation(method: string, requestPath: string): { template: string; operation: SwaggerOperation } {
    const found = this.findOperation(method, requestPath);
    if (!found) throw new Error(`no Seldon Deploy operation for ${method.toUpperCase()} ${requestPath}`);
    return found;
  }
}

function ok(): ValidationResult {
  return { valid: true, errors: [], details: [] };
}
function fail(message: string): ValidationResult {
  return { valid: false, errors: [message], details: [] };
}

/** Points `#/definitions/X` refs of an operation schema at the registered swagger definitions. */
function rewriteRefs(schema: unknown): JsonSchema {
  return JSON.parse(
    JSON.stringify(schema).replace(/"#\/definitions\//g, '"seldon-deploy#/definitions/'),
  ) as JsonSchema;
}

let shared: SeldonContract | undefined;

/** Loads (once per process) the contract from the api-specs folder (see emulators/common/specs.ts). */
export function loadSeldonContract(specsDir = requireApiSpecsDir()): SeldonContract {
  if (shared && specsDir === requireApiSpecsDir()) return shared;
  const swaggerFile = path.join(specsDir, 'seldon-deploy', 'swagger-v1alpha1.yml');
  const crdFile = path.join(specsDir, 'seldon-core', 'machinelearning.seldon.io_seldondeployments.yaml');
  for (const file of [swaggerFile, crdFile]) {
    if (!fs.existsSync(file)) throw new Error(`Seldon spec missing: ${file}`);
  }
  const swagger = yaml.load(fs.readFileSync(swaggerFile, 'utf8')) as SwaggerDocument;
  const crd = yaml.load(fs.readFileSync(crdFile, 'utf8')) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: JsonSchema } }[] };
  };
  const v1 = crd.spec.versions.find((v) => v.name === 'v1');
  if (!v1) throw new Error(`no v1 version in ${crdFile}`);
  const contract = new SeldonContract(swagger, v1.schema.openAPIV3Schema);
  if (specsDir === requireApiSpecsDir()) shared = contract;
  return contract;
}
