// Checks JSON requests and responses against Determined's real protos (the grpc-gateway wire contract):
// every key must be a camelCase field of the message, every value of the field's JSON kind
// (enums as names, int64 as strings, Timestamps as RFC 3339 strings, ...). Reusable by any test:
//   const contract = DeterminedContract.load();
//   expect(contract.checkResponse('GET', '/api/v1/experiments/1', body)).toEqual([]);
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { requireApiSpecsDir } from '../common/specs';

export interface RpcInfo {
  name: string;
  httpMethod: string;
  template: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  /** `*`, a field name of the request, or undefined when the request has no body. */
  body?: string;
  serverStreaming: boolean;
}

export interface CheckOptions {
  /** Responses: also report fields the gateway would emit (EmitDefaults) but the value lacks. */
  requireAllFields?: boolean;
  /** Requests accept what the gateway parses leniently: numbers for int64, numbers for enums. */
  lenient?: boolean;
}

const INT32_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};
/** Fields that `proto/patches/api.json` retypes in the swagger (ListValue → array of strings). */
const PATCHED_STRING_ARRAYS = new Set([
  'determined.experiment.v1.PatchExperiment.labels',
  'determined.model.v1.PatchModel.labels',
  'determined.model.v1.PatchModelVersion.labels',
]);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

let cached: DeterminedContract | undefined;

export class DeterminedContract {
  private readonly rpcs: { info: RpcInfo; regex: RegExp; literals: number }[] = [];

  private constructor(readonly root: protobuf.Root) {
    const service = root.lookupService('determined.api.v1.Determined');
    for (const method of Object.values(service.methods)) {
      const http = httpRule(method);
      if (!http) continue;
      const segments = http.template.split('/');
      const regex = new RegExp(
        '^' + segments.map((s) => (s.startsWith('{') ? '[^/]+' : s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/') + '$',
      );
      this.rpcs.push({
        info: {
          name: method.name,
          httpMethod: http.method,
          template: http.template,
          requestType: root.lookupType(method.requestType),
          responseType: root.lookupType(method.responseType),
          body: http.body,
          serverStreaming: !!method.responseStream,
        },
        regex,
        literals: segments.filter((s) => !s.startsWith('{')).length,
      });
    }
    // Prefer the most literal template when several match (e.g. `/experiments/continue` over `/experiments/{id}`).
    this.rpcs.sort((a, b) => b.literals - a.literals);
  }

  /** Loads (once) every proto under `<specs>/determined/proto/src`. */
  static load(specsDir = requireApiSpecsDir()): DeterminedContract {
    if (cached) return cached;
    const base = path.join(specsDir, 'determined', 'proto', 'src');
    const protobufDir = path.dirname(require.resolve('protobufjs/package.json'));
    const root = new protobuf.Root();
    // The copied specs lack google/protobuf/descriptor.proto & co: protobufjs ships them.
    root.resolvePath = (_origin, target) => {
      if (path.isAbsolute(target)) return target;
      const inSpecs = path.join(base, target);
      return fs.existsSync(inSpecs) ? inSpecs : path.join(protobufDir, target);
    };
    root.loadSync('determined/api/v1/api.proto', { keepCase: false });
    root.resolveAll();
    cached = new DeterminedContract(root);
    return cached;
  }

  /** The RPC the gateway would route `METHOD path` to. */
  findRpc(method: string, urlPath: string): RpcInfo | undefined {
    return this.rpcs.find((r) => r.info.httpMethod === method && r.regex.test(urlPath))?.info;
  }

  /** Violations of a response body (for streaming RPCs: one NDJSON line, `{result}` or `{error}`). */
  checkResponse(method: string, urlPath: string, body: unknown, opts: CheckOptions = { requireAllFields: true }): string[] {
    const rpc = this.findRpc(method, urlPath);
    if (!rpc) return [`no RPC serves ${method} ${urlPath}`];
    if (isGatewayError(body)) return [];
    if (rpc.serverStreaming) {
      if (!isObject(body) || !('result' in body)) return ['a streaming line must be {"result": ...} or {"error": ...}'];
      return this.checkMessage(rpc.responseType.fullName, body.result, opts, '$.result');
    }
    return this.checkMessage(rpc.responseType.fullName, body, opts);
  }

  /** Violations of a request: query parameter names and the JSON body, per the RPC's http rule. */
  checkRequest(method: string, urlPath: string, query: URLSearchParams | Record<string, string>, body?: unknown): string[] {
    const rpc = this.findRpc(method, urlPath);
    if (!rpc) return [`no RPC serves ${method} ${urlPath}`];
    const problems: string[] = [];
    const params = query instanceof URLSearchParams ? [...query.keys()] : Object.keys(query);
    for (const key of new Set(params)) {
      const top = key.split('.')[0];
      if (!findField(rpc.requestType, top)) problems.push(`query parameter ${key} is not a field of ${rpc.requestType.name}`);
    }
    if (body !== undefined && body !== null) {
      if (!rpc.body) problems.push(`${rpc.name} takes no body`);
      else if (rpc.body === '*') problems.push(...this.checkMessage(rpc.requestType.fullName, body, { lenient: true }));
      else {
        const field = findField(rpc.requestType, rpc.body);
        if (!field) problems.push(`body field ${rpc.body} missing in ${rpc.requestType.name}`);
        else problems.push(...this.checkValue(field, body, { lenient: true }, '$'));
      }
    }
    return problems;
  }

  /** Violations of a JSON value against a message type given by its full name. */
  checkMessage(typeName: string, value: unknown, opts: CheckOptions = {}, at = '$'): string[] {
    const type = this.root.lookupType(typeName);
    return this.checkObject(type, value, opts, at);
  }

  private checkObject(type: protobuf.Type, value: unknown, opts: CheckOptions, at: string): string[] {
    if (!isObject(value)) return [`${at}: expected an object for ${type.fullName}, got ${kindOf(value)}`];
    const problems: string[] = [];
    for (const [key, v] of Object.entries(value)) {
      const field = type.fields[key];
      if (!field) {
        problems.push(`${at}.${key}: not a field of ${type.fullName.replace(/^\./, '')}`);
        continue;
      }
      problems.push(...this.checkValue(field, v, opts, `${at}.${key}`));
    }
    if (opts.requireAllFields) {
      for (const field of type.fieldsArray) {
        if (field.partOf) continue; // oneof members (and proto3 optionals) are emitted only when set
        if (!(field.name in value)) problems.push(`${at}.${field.name}: missing (the gateway emits zero values)`);
      }
    }
    return problems;
  }

  private checkValue(field: protobuf.Field, v: unknown, opts: CheckOptions, at: string): string[] {
    const fullName = `${field.parent?.fullName.replace(/^\./, '')}.${field.name}`;
    if (PATCHED_STRING_ARRAYS.has(fullName)) {
      if (v === null) return [];
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? [] : [`${at}: expected an array of strings`];
    }
    if (field.map) {
      if (!isObject(v)) return [`${at}: expected a map object, got ${kindOf(v)}`];
      const mapField = field as unknown as protobuf.MapField;
      return Object.entries(v).flatMap(([k, x]) => this.checkSingle(mapField.type, mapField.resolvedType, x, opts, `${at}.${k}`));
    }
    if (field.repeated) {
      if (v === null && opts.lenient) return [];
      if (!Array.isArray(v)) return [`${at}: expected an array, got ${kindOf(v)}`];
      return v.flatMap((x, i) => this.checkSingle(field.type, field.resolvedType, x, opts, `${at}[${i}]`));
    }
    if (v === null && (field.resolvedType instanceof protobuf.Type || field.partOf)) return [];
    return this.checkSingle(field.type, field.resolvedType, v, opts, at);
  }

  private checkSingle(
    typeName: string,
    resolved: protobuf.Type | protobuf.Enum | null,
    v: unknown,
    opts: CheckOptions,
    at: string,
  ): string[] {
    if (resolved instanceof protobuf.Enum) {
      if (typeof v === 'string') return v in resolved.values ? [] : [`${at}: ${v} is not a value of ${resolved.fullName}`];
      if (opts.lenient && typeof v === 'number') return [];
      return [`${at}: expected an enum name string, got ${kindOf(v)}`];
    }
    if (resolved instanceof protobuf.Type) {
      const full = resolved.fullName.replace(/^\./, '');
      if (full in WRAPPERS) return v === null ? [] : this.checkSingle(WRAPPERS[full], null, v, opts, at);
      switch (full) {
        case 'google.protobuf.Timestamp':
          return typeof v === 'string' && RFC3339.test(v) ? [] : [`${at}: expected an RFC 3339 timestamp string, got ${JSON.stringify(v)}`];
        case 'google.protobuf.Duration':
        case 'google.protobuf.FieldMask':
          return typeof v === 'string' ? [] : [`${at}: expected a string`];
        case 'google.protobuf.Struct':
          return v === null || isObject(v) ? [] : [`${at}: expected an object (Struct), got ${kindOf(v)}`];
        case 'google.protobuf.ListValue':
          return v === null || Array.isArray(v) ? [] : [`${at}: expected an array (ListValue)`];
        case 'google.protobuf.Value':
        case 'google.protobuf.Any':
          return [];
        default:
          return this.checkObject(resolved, v, opts, at);
      }
    }
    if (INT32_TYPES.has(typeName)) return Number.isInteger(v) ? [] : [`${at}: expected an integer, got ${kindOf(v)}`];
    if (INT64_TYPES.has(typeName)) {
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return [];
      if (opts.lenient && Number.isInteger(v)) return [];
      return [`${at}: expected an int64 as a decimal string, got ${kindOf(v)}`];
    }
    switch (typeName) {
      case 'double':
      case 'float':
        return typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? [] : [`${at}: expected a number, got ${kindOf(v)}`];
      case 'bool':
        return typeof v === 'boolean' ? [] : [`${at}: expected a boolean, got ${kindOf(v)}`];
      case 'string':
        return typeof v === 'string' ? [] : [`${at}: expected a string, got ${kindOf(v)}`];
      case 'bytes':
        return typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v) ? [] : [`${at}: expected base64 bytes`];
      default:
        return [`${at}: unknown field type ${typeName}`];
    }
  }
}

function httpRule(method: protobuf.Method): { method: string; template: string; body?: string } | undefined {
  const options = method.options ?? {};
  for (const verb of ['get', 'post', 'put', 'patch', 'delete']) {
    const template = options[`(google.api.http).${verb}`] as string | undefined;
    if (template) return { method: verb.toUpperCase(), template, body: options['(google.api.http).body'] as string | undefined };
  }
  return undefined;
}

function findField(type: protobuf.Type, name: string): protobuf.Field | undefined {
  return type.fields[name] ?? type.fieldsArray.find((f) => snake(f.name) === name);
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isGatewayError(v: unknown): boolean {
  return isObject(v) && Object.keys(v).length === 1 && isObject(v.error) && typeof v.error.error === 'string';
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'string' ? `string ${JSON.stringify(v).slice(0, 40)}` : typeof v;
}
