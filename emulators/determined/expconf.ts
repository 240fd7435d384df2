// Validates experiment configs against the real expconf v0 JSON Schemas, with Determined's custom
// keywords implemented as ajv keywords (semantics of harness/determined/common/schemas/extensions.py),
// and fills schema defaults the way the master's WithDefaults does, for the expanded config.
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import type { DataValidationCxt } from 'ajv/dist/types';
import { requireApiSpecsDir } from '../common/specs';

export const EXPERIMENT_SCHEMA_ID = 'http://determined.ai/schemas/expconf/v0/experiment.json';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Schema = AnySchemaObject & Record<string, unknown>;

/** Loads every `*.json` schema of `schemas/expconf/v0`, keyed by `$id`. */
export function loadExpconfSchemas(specsDir = requireApiSpecsDir()): Map<string, Schema> {
  const dir = path.join(specsDir, 'determined', 'schemas', 'expconf', 'v0');
  const schemas = new Map<string, Schema>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const schema = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Schema;
    if (typeof schema.$id === 'string') schemas.set(schema.$id, schema);
  }
  return schemas;
}

/** `unionKey` selects whose errors a failed union reports (see extensions.py `_evaluate_unionKey`). */
function unionKeyMatches(key: unknown, instance: unknown): boolean {
  if (typeof key !== 'string') return false;
  if (key === 'always') return true;
  if (key === 'never') return false;
  const colon = key.indexOf(':');
  const kind = key.slice(0, colon);
  const arg = key.slice(colon + 1);
  const obj = typeof instance === 'object' && instance !== null && !Array.isArray(instance) ? (instance as JsonObject) : undefined;
  switch (kind) {
    case 'not':
      return !unionKeyMatches(arg, instance);
    case 'const': {
      const eq = arg.indexOf('=');
      return !!obj && obj[arg.slice(0, eq)] === arg.slice(eq + 1);
    }
    case 'singleproperty':
      return !!obj && Object.keys(obj).length === 1 && arg in obj;
    case 'type':
      return arg === 'array' ? Array.isArray(instance) : !!obj;
    case 'hasattr':
      return !!obj && arg in obj;
    default:
      throw new Error(`invalid unionKey: ${key}`);
  }
}

type KeywordValidate = ((data: unknown, cxt?: DataValidationCxt) => boolean) & { errors?: Partial<ErrorObject>[] };

function fail(fn: KeywordValidate, keyword: string, message: string, cxt?: DataValidationCxt, sub: ErrorObject[] = []): false {
  const base = cxt?.instancePath ?? '';
  fn.errors = sub.length
    ? sub.map((e) => ({ ...e, instancePath: base + e.instancePath }))
    : [{ keyword, message, params: {}, instancePath: base }];
  return false;
}

function buildAjv(schemas: Map<string, Schema>, complete: boolean): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  const compile = (schema: unknown): ValidateFunction => ajv.compile(schema as Schema);

  ajv.addKeyword({ keyword: 'unionKey' });
  ajv.addKeyword({
    keyword: 'union',
    errors: true,
    compile(spec: { items: Schema[]; defaultMessage?: string }) {
      const items = spec.items.map((item) => ({ key: item.unionKey, validate: compile(item) }));
      const fn: KeywordValidate = (data, cxt) => {
        let valid = 0;
        let selected: ErrorObject[] | undefined;
        for (const item of items) {
          if (item.validate(data)) valid++;
          else if (!selected && unionKeyMatches(item.key, data)) selected = [...(item.validate.errors ?? [])];
        }
        if (valid === 1) return true;
        if (valid > 1) return fail(fn, 'union', 'bug in validation! Multiple schemas matched', cxt);
        if (selected?.length) return fail(fn, 'union', '', cxt, selected);
        return fail(fn, 'union', spec.defaultMessage ?? 'union failed to validate', cxt);
      };
      return fn;
    },
  });
  ajv.addKeyword({
    keyword: 'checks',
    errors: true,
    compile(spec: Record<string, Schema>) {
      const checks = Object.entries(spec).map(([message, schema]) => ({ message, validate: compile(schema) }));
      const fn: KeywordValidate = (data, cxt) => {
        const failed = checks.filter((c) => !c.validate(data));
        if (!failed.length) return true;
        fn.errors = failed.map((c) => ({ keyword: 'checks', message: c.message, params: {}, instancePath: cxt?.instancePath ?? '' }));
        return false;
      };
      return fn;
    },
  });
  ajv.addKeyword({
    keyword: 'compareProperties',
    errors: true,
    compile(spec: { type: string; a: string; b: string }) {
      const get = (obj: JsonObject, p: string): Json | undefined => {
        let cur: Json | undefined = obj;
        for (const k of p.split('.')) {
          if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
          cur = cur[k];
        }
        return cur;
      };
      const fn: KeywordValidate = (data, cxt) => {
        if (typeof data !== 'object' || data === null || Array.isArray(data)) return true;
        const a = get(data as JsonObject, spec.a);
        const b = get(data as JsonObject, spec.b);
        if (a === undefined || a === null || b === undefined || b === null) return true;
        if (spec.type === 'a<b' && !(a < b)) return fail(fn, 'compareProperties', `${spec.a} must be less than ${spec.b}`, cxt);
        if (spec.type === 'a<=b' && !(a <= b)) return fail(fn, 'compareProperties', `${spec.a} must be less than or equal to ${spec.b}`, cxt);
        if (spec.type === 'a_is_subdir_of_b') {
          const an = path.posix.normalize(String(a));
          const bn = path.posix.normalize(String(b));
          const bad = path.posix.isAbsolute(an) ? !an.startsWith(bn) : an.startsWith('..');
          if (bad) return fail(fn, 'compareProperties', `${spec.a} must be a subdirectory of ${spec.b}`, cxt);
        }
        return true;
      };
      return fn;
    },
  });
  ajv.addKeyword({
    keyword: 'disallowProperties',
    errors: true,
    compile(spec: Record<string, string>) {
      const fn: KeywordValidate = (data, cxt) => {
        if (typeof data !== 'object' || data === null || Array.isArray(data)) return true;
        const hits = Object.keys(data).filter((k) => k in spec);
        if (!hits.length) return true;
        fn.errors = hits.map((k) => ({ keyword: 'disallowProperties', message: spec[k], params: {}, instancePath: cxt?.instancePath ?? '' }));
        return false;
      };
      return fn;
    },
  });
  ajv.addKeyword({
    keyword: 'optionalRef',
    errors: true,
    compile(url: string) {
      let validate: ValidateFunction | undefined;
      const fn: KeywordValidate = (data, cxt) => {
        if (data === null) return true;
        validate ??= compile({ $ref: url });
        return validate(data) ? true : fail(fn, 'optionalRef', '', cxt, validate.errors ?? []);
      };
      return fn;
    },
  });
  ajv.addKeyword({
    keyword: 'conditional',
    errors: true,
    compile(spec: { when?: Schema; unless?: Schema; enforce: Schema }) {
      const when = spec.when ? compile(spec.when) : undefined;
      const unless = spec.unless ? compile(spec.unless) : undefined;
      const enforce = compile(spec.enforce);
      const fn: KeywordValidate = (data, cxt) => {
        if (when && !when(data)) return true;
        if (!when && unless && unless(data)) return true;
        return enforce(data) ? true : fail(fn, 'conditional', '', cxt, enforce.errors ?? []);
      };
      return fn;
    },
  });
  if (complete) {
    ajv.addKeyword({
      keyword: 'eventuallyRequired',
      errors: true,
      compile(keys: string[]) {
        const fn: KeywordValidate = (data, cxt) => {
          if (typeof data !== 'object' || data === null || Array.isArray(data)) return true;
          const missing = keys.filter((k) => !(k in data) || (data as JsonObject)[k] === null);
          if (!missing.length) return true;
          fn.errors = missing.map((k) => ({ keyword: 'eventuallyRequired', message: `${k} is a required property`, params: {}, instancePath: cxt?.instancePath ?? '' }));
          return false;
        };
        return fn;
      },
    });
    ajv.addKeyword({
      keyword: 'eventually',
      errors: true,
      compile(schema: Schema) {
        const validate = compile(schema);
        const fn: KeywordValidate = (data, cxt) => (validate(data) ? true : fail(fn, 'eventually', '', cxt, validate.errors ?? []));
        return fn;
      },
    });
  } else {
    // Sanity validation (what the master checks on submission) ignores the "eventually" keywords.
    ajv.addKeyword({ keyword: 'eventuallyRequired' });
    ajv.addKeyword({ keyword: 'eventually' });
  }
  for (const schema of schemas.values()) ajv.addSchema(schema);
  return ajv;
}

/** Renders an ajv error the way the master does: `<config>.path: message`. */
function renderError(e: ErrorObject): string {
  const where = '<config>' + e.instancePath.replace(/\//g, '.').replace(/~1/g, '/').replace(/~0/g, '~');
  const params = e.params as Record<string, unknown>;
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') message = `additionalProperties "${String(params.additionalProperty)}" not allowed`;
  else if (e.keyword === 'required') message = `${String(params.missingProperty)} is a required property`;
  else if (e.keyword === 'enum') message = `must be one of ${JSON.stringify(params.allowedValues)}`;
  else if (e.keyword === 'const') message = `must be ${JSON.stringify(params.allowedValue)}`;
  return `${where}: ${message}`;
}

function uniqueRendered(errors: ErrorObject[] | null | undefined): string[] {
  // if/then wrappers repeat the real error; keep only the informative ones, once each.
  const rendered = (errors ?? []).filter((e) => e.keyword !== 'if' && e.message !== '').map(renderError);
  return [...new Set(rendered)];
}

export class ExpconfValidator {
  private readonly sanity: ValidateFunction;
  private readonly completeness: ValidateFunction;

  constructor(readonly schemas: Map<string, Schema> = loadExpconfSchemas()) {
    this.sanity = buildAjv(schemas, false).getSchema(EXPERIMENT_SCHEMA_ID) as ValidateFunction;
    this.completeness = buildAjv(schemas, true).getSchema(EXPERIMENT_SCHEMA_ID) as ValidateFunction;
    if (!this.sanity || !this.completeness) throw new Error(`schema ${EXPERIMENT_SCHEMA_ID} not found`);
  }

  /** The master's submission check: the config as the user wrote it (no defaults, no eventuallyRequired). */
  sanityErrors(config: unknown): string[] {
    return this.sanity(config) ? [] : uniqueRendered(this.sanity.errors);
  }

  /** The master's final check, on the config after defaults: eventuallyRequired fields must be there. */
  completenessErrors(config: unknown): string[] {
    return this.completeness(config) ? [] : uniqueRendered(this.completeness.errors);
  }

  /** Returns a copy of `config` with every schema default filled in (objects recursively, unions by their key). */
  withDefaults<T>(config: T, schemaId = EXPERIMENT_SCHEMA_ID): T {
    const copy = structuredClone(config) as Json;
    this.fill(this.schemas.get(schemaId), copy, 0);
    return copy as T;
  }

  private fill(schema: Schema | undefined, value: Json, depth: number): void {
    if (!schema || depth > 32 || typeof value !== 'object' || value === null || Array.isArray(value)) return;
    const ref = (schema.$ref ?? schema.optionalRef) as string | undefined;
    if (ref) this.fill(this.schemas.get(ref), value, depth + 1);
    const unions = [schema.union, (schema.then as Schema | undefined)?.union] as ({ items: Schema[] } | undefined)[];
    for (const union of unions) {
      const item = union?.items.find((i) => unionKeyMatches(i.unionKey, value));
      if (item) this.fill(item, value, depth + 1);
    }
    const props = schema.properties as Record<string, Schema> | undefined;
    if (!props) return;
    for (const [key, propSchema] of Object.entries(props)) {
      if (typeof propSchema !== 'object') continue;
      if ((value[key] === undefined || value[key] === null) && 'default' in propSchema) {
        value[key] = structuredClone(propSchema.default as Json);
      }
      this.fill(propSchema, value[key], depth + 1);
    }
  }
}
