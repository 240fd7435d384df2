// Contract validators from pachd's committed OpenAPI (Swagger 2.0) spec of its REST gateway, for the
// emulator's own tests and for anyone who wants to check the requests they send to pachd.
//
//   const contract = pachydermContract();
//   contract.request('pfs_v2.API/InspectCommit', body)   // -> [] or error messages
//   contract.response('pfs_v2.API/InspectCommit', body)  // unary answer
//   contract.streamLine('pfs_v2.API/ListCommit', line)    // one NDJSON line: {result} or {error}
//   contract.error(body)                                  // a google.rpc.Status error body
//
// protojson treats `null` as "unset" and grpc-gateway emits unset message fields as null, so message-
// and timestamp-typed properties also accept null; everything else is checked as the spec says.
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { requireApiSpecsDir } from '../common/specs';

type Schema = Record<string, unknown>;

interface MethodSchemas {
  request: string;
  response: string;
  stream: boolean;
}

export interface PachydermContract {
  /** Methods the spec knows, e.g. `pfs_v2.API/DiffFile`. */
  methods(): string[];
  isStreaming(method: string): boolean;
  request(method: string, body: unknown): string[];
  response(method: string, body: unknown): string[];
  streamLine(method: string, line: unknown): string[];
  error(body: unknown): string[];
  /** Any definition by its swagger name, e.g. `pfs_v2CommitInfo`. */
  definition(name: string, value: unknown): string[];
}

export function swaggerPath(): string {
  return path.join(requireApiSpecsDir(), 'pachyderm/src/openapi/pachyderm_api.swagger.json');
}

function refName(schema: Schema | undefined): string | undefined {
  const ref = schema?.$ref;
  return typeof ref === 'string' ? ref.replace('#/definitions/', '') : undefined;
}

/** The Duration-typed properties the emulator emits (CommitInfo.Details). */
const DURATION_PROPERTIES = new Set(['compactingTime', 'validatingTime']);

/** Lets message-typed, timestamp and duration properties be null (protojson's "unset"). */
function nullableMessages(defs: Record<string, Schema>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const [name, def] of Object.entries(defs)) {
    const props = def.properties as Record<string, Schema> | undefined;
    if (!props) {
      out[name] = def;
      continue;
    }
    const newProps: Record<string, Schema> = {};
    for (const [k, p] of Object.entries(props)) {
      const isMessage = typeof p.$ref === 'string' && (defs[refName(p) as string]?.type ?? 'object') === 'object' && !defs[refName(p) as string]?.enum;
      const isTimestamp = p.type === 'string' && p.format === 'date-time';
      // google.protobuf.Duration is a plain string in the swagger, but a message: real pachd sends an unset one as null.
      const isDuration = p.type === 'string' && DURATION_PROPERTIES.has(k);
      newProps[k] = isMessage || isTimestamp || isDuration ? { anyOf: [p.$ref ? { $ref: p.$ref } : p, { type: 'null' }] } : p;
    }
    out[name] = { ...def, properties: newProps };
  }
  return out;
}

const cached = new Map<boolean, PachydermContract>();

export interface ContractOptions {
  /**
   * Accept what protojson accepts beyond the spec's spelling (numbers for int64 strings) and skip
   * format checks: the emulator uses this to check incoming requests quickly. Tests use the strict one.
   */
  lenient?: boolean;
}

export function pachydermContract(options: ContractOptions = {}): PachydermContract {
  const lenient = options.lenient ?? false;
  const existing = cached.get(lenient);
  if (existing) return existing;
  const spec = JSON.parse(fs.readFileSync(swaggerPath(), 'utf8')) as {
    paths: Record<string, Record<string, { parameters?: { in: string; schema: Schema }[]; responses: Record<string, { schema?: Schema }> }>>;
    definitions: Record<string, Schema>;
  };
  const ajv = new Ajv({ allErrors: !lenient, strict: false, coerceTypes: lenient, validateFormats: !lenient });
  addFormats(ajv);
  for (const f of ['int64', 'uint64']) ajv.addFormat(f, /^-?\d+$/);
  for (const f of ['int32', 'uint32', 'double', 'float']) ajv.addFormat(f, { type: 'number', validate: () => true });
  ajv.addSchema({ $id: 'pachd', definitions: nullableMessages(spec.definitions) });

  const methods = new Map<string, MethodSchemas>();
  const compiled = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: Schema): ValidateFunction => {
    let fn = compiled.get(key);
    if (!fn) {
      const text = JSON.stringify(schema).replace(/"#\/definitions\//g, '"pachd#/definitions/');
      fn = ajv.compile(JSON.parse(text) as Schema);
      compiled.set(key, fn);
    }
    return fn;
  };
  for (const [p, ops] of Object.entries(spec.paths)) {
    const post = ops.post;
    if (!post) continue;
    const method = p.replace(/^\//, '');
    const body = post.parameters?.find((x) => x.in === 'body')?.schema ?? {};
    const ok = post.responses['200']?.schema ?? {};
    const stream = typeof ok.title === 'string' && ok.title.startsWith('Stream result of');
    methods.set(method, { request: `req:${method}`, response: `res:${method}`, stream });
    schemaOf.set(`req:${method}`, body);
    schemaOf.set(`res:${method}`, ok);
  }

  const run = (key: string, value: unknown): string[] => {
    const schema = schemaOf.get(key);
    if (!schema) return [`no schema ${key}`];
    const fn = compile(key, schema);
    return fn(value) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'} ${e.params ? JSON.stringify(e.params) : ''}`.trim());
  };
  const need = (method: string): MethodSchemas => {
    const m = methods.get(method);
    if (!m) throw new Error(`the Pachyderm spec has no method ${method}`);
    return m;
  };
  schemaOf.set('rpcStatus', { $ref: '#/definitions/rpcStatus' });

  const contract: PachydermContract = {
    methods: () => [...methods.keys()],
    isStreaming: (method) => need(method).stream,
    request: (method, body) => run(need(method).request, body),
    response: (method, body) => {
      const m = need(method);
      if (m.stream) return [`${method} is a streaming method: validate each line with streamLine`];
      return run(m.response, body);
    },
    streamLine: (method, line) => {
      const m = need(method);
      if (!m.stream) return [`${method} is not a streaming method`];
      const l = line as Record<string, unknown> | null;
      if (!l || typeof l !== 'object' || (('result' in l) === ('error' in l))) return ['a stream line has exactly one of result or error'];
      if ('error' in l) return run('rpcStatus', l.error);
      const wrapper = schemaOf.get(m.response) as { properties?: { result?: Schema } };
      const resultSchema = wrapper.properties?.result ?? {};
      const key = `${m.response}:result`;
      if (!schemaOf.has(key)) schemaOf.set(key, Object.keys(resultSchema).length ? resultSchema : { type: 'string', format: 'byte' });
      return run(key, l.result);
    },
    error: (body) => run('rpcStatus', body),
    definition: (name, value) => {
      const key = `def:${name}`;
      if (!spec.definitions[name]) return [`the Pachyderm spec has no definition ${name}`];
      schemaOf.set(key, { $ref: `#/definitions/${name}` });
      return run(key, value);
    },
  };
  cached.set(lenient, contract);
  return contract;
}

/** Raw schemas by key (`req:<method>`, `res:<method>`, `def:<name>`), compiled on first use. */
const schemaOf = new Map<string, Schema>();

/** Throws with every message when `errors` is not empty (for tests and assertions). */
export function assertContract(errors: string[], what: string): void {
  if (errors.length > 0) throw new Error(`${what} violates the Pachyderm API spec:\n  ${errors.join('\n  ')}`);
}
