// Embeddable pachd emulator: `startPachydermEmulator()` serves pachd's HTTP API (REST gateway,
// /pfs downloads, /healthz) and its gRPC API from a state directory, with fault injection (HTTP)
// and request logs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulatorServer, type RunningEmulator } from '../common/server';
import type { FaultConfig } from '../common/faults';
import { codeFromHttpStatus, rpcStatus } from './errors';
import { PfsApi } from './api';
import { PachAuth } from './auth';
import { buildRestRouter } from './rest';
import { startGrpcServer } from './grpc';
import { PfsStore } from './store';

export interface PachydermEmulatorOptions {
  /** HTTP port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Where repos, commits and file contents live; a fresh temp dir when omitted. */
  stateDir?: string;
  /** Structured request logs (one JSON object per line), e.g. process.stdout; none by default. */
  log?: NodeJS.WritableStream | null;
  /** Faults active from the start (also settable at run time with PUT /__emulator/faults). */
  faults?: FaultConfig;
  /**
   * Enables auth with this root token (subject `pach:root`, cluster admin): every call must send it or a
   * robot token minted with GetRobotToken (header or gRPC metadata `authn-token`).
   */
  authToken?: string;
  /** gRPC port (pachd's is 1650); 0 (default) picks a free one. Same host as HTTP. */
  grpcPort?: number;
}

export interface PachydermEmulator extends RunningEmulator {
  stateDir: string;
  store: PfsStore;
  api: PfsApi;
  authToken?: string;
  grpcPort: number;
  /** `host:port` for gRPC clients, e.g. pachyderm_sdk.Client(host, port). */
  grpcAddress: string;
}

export async function startPachydermEmulator(opts: PachydermEmulatorOptions = {}): Promise<PachydermEmulator> {
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pachd-emulator-'));
  const store = new PfsStore({ stateDir });
  const api = new PfsApi(store, new PachAuth(opts.authToken, stateDir));
  const server = await startEmulatorServer({
    name: 'pachd',
    router: buildRestRouter({ api, store }),
    port: opts.port,
    host: opts.host,
    log: opts.log,
    faults: opts.faults,
    errorBody: (status, message) => rpcStatus(codeFromHttpStatus(status), message),
  });
  let grpc;
  try {
    grpc = await startGrpcServer({ api, host: opts.host ?? '127.0.0.1', port: opts.grpcPort ?? 0, log: opts.log });
  } catch (err) {
    store.close();
    await server.close();
    throw err;
  }
  return {
    ...server,
    stateDir,
    store,
    api,
    authToken: opts.authToken,
    grpcPort: grpc.port,
    grpcAddress: grpc.address,
    close: async () => {
      store.close();
      grpc.close();
      await server.close();
    },
  };
}

export { PfsStore } from './store';
export { pachydermContract, assertContract } from './contract';
export { putFiles, PachdRestClient } from './client';
export { loadPachdProtos, PACHD_PROTO_OPTIONS } from './grpc';
