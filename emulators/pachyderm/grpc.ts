// pachd's gRPC port (1650 in a real cluster): pfs_v2.API, auth_v2.API and versionpb_v2.API built from
// the real protos, over the same PfsApi core as the REST gateway. Only the transport differs here:
// messages are transcoded to and from protojson (grpc-codec.ts), PachErrors become gRPC statuses.
// Methods the core does not implement answer UNIMPLEMENTED (grpc-js' default for missing handlers).
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type * as protobuf from 'protobufjs';
import { requireApiSpecsDir } from '../common/specs';
import { GrpcCode, PachError, toPachError } from './errors';
import { PACHD_PROTO_FILES, fromProtoJson, loadReflection, toProtoJson } from './grpc-codec';
import type { PfsApi } from './api';
import type { Json } from './protojson';

/** proto-loader options under which its objects are protojson but for the well-known types. */
export const PACHD_PROTO_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  oneofs: false,
};

export const PACHD_GRPC_SERVICES = ['pfs_v2.API', 'auth_v2.API', 'versionpb_v2.API'];

/** The directory the .proto files import from (`pfs/pfs.proto`, `protoextensions/…`). */
export function pachdProtoDir(): string {
  return path.join(requireApiSpecsDir(), 'pachyderm', 'src');
}

let protos: { definition: protoLoader.PackageDefinition; root: protobuf.Root } | undefined;

/** The package definition (for servers and clients) and reflection, loaded once per process. */
export function loadPachdProtos(): { definition: protoLoader.PackageDefinition; root: protobuf.Root } {
  if (!protos) {
    const dir = pachdProtoDir();
    protos = {
      definition: protoLoader.loadSync(PACHD_PROTO_FILES, { ...PACHD_PROTO_OPTIONS, includeDirs: [dir] }),
      root: loadReflection(dir),
    };
  }
  return protos;
}

/** GetVersion's answer: the 2.12 line the protos come from, marked as the emulator (there is no real build). */
export const EMULATED_VERSION = {
  major: 2,
  minor: 12,
  micro: 0,
  additional: '-emulator',
  gitCommit: '',
  gitTreeModified: '',
  buildDate: '',
  goVersion: '',
  platform: '',
};

// As in pachd's auth interceptor, GetVersion needs no token; WhoAmI checks the token itself.
const WITHOUT_TOKEN = new Set(['versionpb_v2.API/GetVersion']);

export interface GrpcServerOptions {
  api: PfsApi;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** One JSON line per call, like the HTTP request logs. */
  log?: NodeJS.WritableStream | null;
}

export interface RunningGrpcServer {
  port: number;
  /** `host:port`, what gRPC clients dial. */
  address: string;
  close(): void;
}

type Handler = grpc.UntypedHandleCall;

export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const { definition, root } = loadPachdProtos();
  const server = new grpc.Server();
  for (const service of PACHD_GRPC_SERVICES) {
    const methods = definition[service] as grpc.ServiceDefinition;
    const reflected = root.lookupService(service);
    const transcoded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [name, m] of Object.entries(methods)) {
      const rpc = reflected.methods[name];
      const reqType = rpc.resolvedRequestType as protobuf.Type;
      const resType = rpc.resolvedResponseType as protobuf.Type;
      transcoded[name] = {
        ...m,
        requestDeserialize: (buf: Buffer) => toProtoJson(reqType, m.requestDeserialize(buf) as Json),
        responseSerialize: (json: unknown) => m.responseSerialize(fromProtoJson(resType, json)),
      };
      const handler = methodHandler(opts, `${service}/${name}`, m);
      if (handler) handlers[name] = handler;
    }
    server.addService(transcoded, handlers);
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const host = opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    port,
    address: `${host}:${port}`,
    // Open streams (SubscribeCommit, InspectCommit waits) must not hold the emulator up.
    close: () => server.forceShutdown(),
  };
}

function methodHandler(opts: GrpcServerOptions, method: string, m: grpc.MethodDefinition<unknown, unknown>): Handler | undefined {
  const { api } = opts;
  const log = (started: number, err: unknown) => {
    opts.log?.write(
      JSON.stringify({
        ts: new Date(started).toISOString(),
        emulator: 'pachd',
        transport: 'grpc',
        method: `/${method}`,
        code: err ? toPachError(err).code : GrpcCode.OK,
        ms: Date.now() - started,
      }) + '\n',
    );
  };
  const authenticate = (md: grpc.Metadata) => {
    if (WITHOUT_TOKEN.has(method)) return undefined;
    const v = md.get('authn-token')[0];
    return api.auth.authenticate(v === undefined ? undefined : String(v));
  };

  if (method === 'versionpb_v2.API/GetVersion') {
    return ((_call: grpc.ServerUnaryCall<Json, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      log(Date.now(), null);
      callback(null, EMULATED_VERSION);
    }) as Handler;
  }
  const kind = api.has(method);
  if (kind === 'unary' && !m.requestStream && !m.responseStream) {
    return ((call: grpc.ServerUnaryCall<Json, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = Date.now();
      const signal = cancelSignal(call);
      Promise.resolve()
        .then(() => {
          return api.callUnary(method, call.request, { signal, caller: authenticate(call.metadata) });
        })
        .then(
          (res) => {
            log(started, null);
            callback(null, res);
          },
          (err: unknown) => {
            log(started, err);
            callback(grpcError(err));
          },
        );
    }) as Handler;
  }
  if (kind === 'stream' && !m.requestStream && m.responseStream) {
    return ((call: grpc.ServerWritableStream<Json, unknown>) => {
      const started = Date.now();
      const signal = cancelSignal(call);
      Promise.resolve()
        .then(() => {
          return api.callStream(method, call.request, { signal, caller: authenticate(call.metadata) }, (msg) => write(call, msg, signal));
        })
        .then(
          () => {
            log(started, null);
            call.end();
          },
          (err: unknown) => {
            log(started, err);
            // grpc-js ends a server stream with the status of an emitted error.
            if (!call.cancelled) call.emit('error', grpcError(err));
          },
        );
    }) as Handler;
  }
  if (kind === 'modify' && m.requestStream && !m.responseStream) {
    return ((call: grpc.ServerReadableStream<Json, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = Date.now();
      Promise.resolve()
        .then(() => {
          return api.modifyFile(received(call), authenticate(call.metadata));
        })
        .then(
          (res) => {
            log(started, null);
            callback(null, res);
          },
          (err: unknown) => {
            log(started, err);
            callback(grpcError(err));
          },
        );
    }) as Handler;
  }
  return undefined;
}

/** Aborted when the client cancels or goes away, like a Go handler's context. */
function cancelSignal(call: { cancelled: boolean; on(event: 'cancelled', listener: () => void): unknown }): AbortSignal {
  const abort = new AbortController();
  if (call.cancelled) abort.abort();
  call.on('cancelled', () => abort.abort());
  return abort.signal;
}

/** Writes one message, waiting for the client to read when the stream is full. */
async function write(call: grpc.ServerWritableStream<Json, unknown>, msg: Json | Buffer, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw canceled();
  if (call.write(msg)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done);
  });
  if (signal.aborted) throw canceled();
}

/** A client stream's messages; a cancelled upload must fail (and apply nothing), not end early. */
async function* received(call: grpc.ServerReadableStream<Json, unknown>): AsyncGenerator<Json> {
  for await (const msg of call) yield msg as Json;
  if (call.cancelled) throw canceled();
}

function canceled(): PachError {
  return new PachError(GrpcCode.Canceled, 'context canceled');
}

function grpcError(err: unknown): grpc.ServerErrorResponse {
  const e = toPachError(err);
  return Object.assign(new Error(e.message), { code: e.code as number as grpc.status, details: e.message });
}
