// Transcoding between the objects @grpc/proto-loader produces and the protojson the PfsApi core
// speaks, the job grpc-gateway does in front of the real pachd. proto-loader (camelCase, int64 and
// bytes as strings, enum names) already matches protojson except for the well-known types, which
// protojson writes as strings or bare values: Timestamp, Duration, the *Value wrappers, Empty.
// Field types come from protobufjs reflection over the same .proto files.
import path from 'node:path';
import * as protobuf from 'protobufjs';
import { invalidArgument } from './errors';

export type Obj = Record<string, unknown>;

/** The .proto files of pachd's API served over gRPC, relative to `api-specs/pachyderm/src`. */
export const PACHD_PROTO_FILES = ['pfs/pfs.proto', 'auth/auth.proto', 'version/versionpb/version.proto'];

/** protobufjs reflection over the protos (for field types only; proto-loader does the wire). */
export function loadReflection(protoRoot: string): protobuf.Root {
  const root = new protobuf.Root();
  // protoextensions import descriptor.proto, which protobufjs ships but does not bundle as a common type.
  const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
  root.resolvePath = (_origin, target) => {
    if (target === 'google/protobuf/descriptor.proto') return path.join(protobufjsDir, target);
    if (target.startsWith('google/protobuf/')) return target; // protobufjs' bundled well-known types
    return path.join(protoRoot, target);
  };
  root.loadSync(PACHD_PROTO_FILES);
  root.resolveAll();
  return root;
}

const WRAPPER_DEFAULTS: Record<string, unknown> = {
  '.google.protobuf.DoubleValue': 0,
  '.google.protobuf.FloatValue': 0,
  '.google.protobuf.Int64Value': '0',
  '.google.protobuf.UInt64Value': '0',
  '.google.protobuf.Int32Value': 0,
  '.google.protobuf.UInt32Value': 0,
  '.google.protobuf.BoolValue': false,
  '.google.protobuf.StringValue': '',
  '.google.protobuf.BytesValue': '',
};

/** A decoded message (a proto-loader object) as protojson. */
export function toProtoJson(type: protobuf.Type, msg: Obj): unknown {
  switch (type.fullName) {
    case '.google.protobuf.Timestamp':
      return timestampToJson(msg);
    case '.google.protobuf.Duration':
      return durationToJson(msg);
    case '.google.protobuf.Empty':
      return {};
    default:
      if (type.fullName in WRAPPER_DEFAULTS) return msg.value ?? WRAPPER_DEFAULTS[type.fullName];
      if (type.fullName.startsWith('.google.protobuf.')) return msg; // Any, Struct…: not used by the core
  }
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    const v = msg[field.name];
    if (v === undefined || v === null) continue;
    out[field.name] = field.resolvedType instanceof protobuf.Type ? mapField(field, v, (t, x) => toProtoJson(t, x as Obj)) : v;
  }
  return out;
}

/** A protojson message from the core as the object proto-loader encodes (nulls dropped). */
export function fromProtoJson(type: protobuf.Type, json: unknown): unknown {
  switch (type.fullName) {
    case '.google.protobuf.Timestamp':
      return timestampFromJson(json);
    case '.google.protobuf.Duration':
      return durationFromJson(json);
    case '.google.protobuf.Empty':
      return {};
    default:
      if (type.fullName in WRAPPER_DEFAULTS) return { value: json };
      if (type.fullName.startsWith('.google.protobuf.')) return json;
  }
  const msg = json as Obj;
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    const v = msg[field.name];
    if (v === undefined || v === null) continue;
    out[field.name] = field.resolvedType instanceof protobuf.Type ? mapField(field, v, fromProtoJson) : v;
  }
  return out;
}

/** Applies `fn` to a message field's value, each element of a repeated field, or each map value. */
function mapField(field: protobuf.Field, v: unknown, fn: (t: protobuf.Type, x: unknown) => unknown): unknown {
  const t = field.resolvedType as protobuf.Type;
  if (field.map) return Object.fromEntries(Object.entries(v as Obj).map(([k, x]) => [k, fn(t, x)]));
  if (field.repeated) return (v as unknown[]).map((x) => fn(t, x));
  return fn(t, v);
}

// ---- well-known types ------------------------------------------------------------------------

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as Go's protojson writes it. */
export function timestampToJson(t: Obj): string {
  const seconds = Number(t.seconds ?? 0);
  const nanos = Number(t.nanos ?? 0);
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}${fraction(nanos)}Z`;
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  if (digits.endsWith('000000')) return '.' + digits.slice(0, 3);
  if (digits.endsWith('000')) return '.' + digits.slice(0, 6);
  return '.' + digits;
}

export function timestampFromJson(v: unknown): Obj {
  const m = typeof v === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(v) : null;
  const ms = m ? Date.parse(m[1] + m[3]) : NaN;
  if (!m || Number.isNaN(ms)) throw invalidArgument(`invalid google.protobuf.Timestamp value ${JSON.stringify(v)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

/** `"1.5s"`, `"-0.000000001s"`, `"0s"`. */
export function durationToJson(d: Obj): string {
  const seconds = BigInt(String(d.seconds ?? 0));
  const nanos = Number(d.nanos ?? 0);
  const negative = seconds < 0n || nanos < 0;
  const abs = (seconds < 0n ? -seconds : seconds).toString();
  return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

export function durationFromJson(v: unknown): Obj {
  const m = typeof v === 'string' ? /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
  if (!m) throw invalidArgument(`invalid google.protobuf.Duration value ${JSON.stringify(v)}`);
  const sign = m[1] === '-' ? -1 : 1;
  const nanos = Number((m[3] ?? '').padEnd(9, '0'));
  return { seconds: (m[1] + m[2]).replace(/^-0$/, '0'), nanos: sign * nanos };
}
