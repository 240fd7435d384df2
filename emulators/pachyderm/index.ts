// Embeddable pachd emulator: `startPachydermEmulator()` serves pachd's HTTP API (REST gateway,
// /pfs downloads, /healthz) from a state directory, with fault injection and request logs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulatorServer, type RunningEmulator } from '../common/server';
import type { FaultConfig } from '../common/faults';
import { codeFromHttpStatus, rpcStatus } from './errors';
import { PfsApi } from './api';
import { buildRestRouter } from './rest';
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
  /** Enables auth: every call must send this token (header `authn-token`). */
  authToken?: string;
}

export interface PachydermEmulator extends RunningEmulator {
  stateDir: string;
  store: PfsStore;
  api: PfsApi;
  authToken?: string;
}

export async function startPachydermEmulator(opts: PachydermEmulatorOptions = {}): Promise<PachydermEmulator> {
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pachd-emulator-'));
  const store = new PfsStore({ stateDir });
  const api = new PfsApi(store, { enabled: !!opts.authToken });
  const server = await startEmulatorServer({
    name: 'pachd',
    router: buildRestRouter({ api, store, authToken: opts.authToken }),
    port: opts.port,
    host: opts.host,
    log: opts.log,
    faults: opts.faults,
    errorBody: (status, message) => rpcStatus(codeFromHttpStatus(status), message),
  });
  return {
    ...server,
    stateDir,
    store,
    api,
    authToken: opts.authToken,
    close: async () => {
      store.close();
      await server.close();
    },
  };
}

export { PfsStore } from './store';
export { pachydermContract, assertContract } from './contract';
export { putFiles, PachdRestClient } from './client';
