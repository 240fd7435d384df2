// Starts the Seldon Deploy emulator: OIDC issuer, Deploy API, model ingress and control routes on one port.
import fs from 'node:fs';
import { Router } from '../common/router';
import { sendJson } from '../common/body';
import { startEmulatorServer } from '../common/server';
import type { FaultConfig } from '../common/faults';
import { loadSeldonContract } from './contract';
import { OidcIssuer, DEFAULT_CLIENT, type OidcOptions } from './oidc';
import { SeldonStore } from './store';
import { RolloutController } from './rollouts';
import { addDeployApiRoutes, deployError } from './deploy-api';
import { addPredictionRoutes } from './predictions';
import { addControlRoutes, validateSecretData } from './control';
import { validateOutcomes, type OutcomeRule } from './outcomes';
import { validateRuntimes, type RuntimeConfig } from './model-process';

/** A controller notices an update within a few hundred milliseconds; small, so the tests stay fast. */
export const DEFAULT_STALE_STATUS_MS = 200;

export interface SeldonEmulatorOptions {
  /** Where everything is kept (created if missing). Restarting on the same directory loses nothing. */
  stateDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Structured request, rollout and container-output logs (JSON lines). */
  log?: NodeJS.WritableStream | null;
  /** Initial fault-injection rules (see emulators/common/faults.ts). */
  faults?: FaultConfig;
  /** OIDC clients, users and token lifetime. */
  oidc?: OidcOptions;
  /** Shortcut: the secret of the default `sd-api` client (ignored when `oidc.clients` is given). */
  clientSecret?: string;
  /**
   * How long the status stays stale after a create (no status) or an update (the previous status: its state,
   * description and conditions) before the controller writes Creating for the new generation. Default 200 ms.
   */
  staleStatusMs?: number;
  /** How long a rollout takes when no outcome rule says otherwise. Default 1000 ms. */
  availableDelayMs?: number;
  /** How long a started container may take to answer `/health/ping`. Default 60000 ms. */
  readinessTimeoutMs?: number;
  /** Replace the persisted runtimes (image → command). */
  runtimes?: RuntimeConfig[];
  /** Replace the persisted outcome rules. */
  outcomes?: OutcomeRule[];
  /** Secrets to add or replace, keyed by `namespace/name`, values plain strings. */
  secrets?: Record<string, Record<string, string>>;
}

export interface RunningSeldonEmulator {
  url: string;
  port: number;
  stateDir: string;
  /** The OIDC issuer URL (`oidc_server` of the SDK). */
  oidcServer: string;
  /** The Deploy API base URL (`Configuration.host` of the SDK). */
  apiUrl: string;
  faults: import('../common/faults').FaultInjector;
  /**
   * Every Deploy API answer (and accepted SeldonDeployment) is checked against the real specs; anything they would
   * reject is listed here (and at `GET /__emulator/contract-violations`, and logged). Tests assert it stays empty.
   */
  contractViolations: readonly string[];
  close(): Promise<void>;
}

export async function startSeldonEmulator(opts: SeldonEmulatorOptions): Promise<RunningSeldonEmulator> {
  if (!opts.stateDir) throw new Error('stateDir is required');
  for (const key of ['staleStatusMs', 'availableDelayMs', 'readinessTimeoutMs'] as const) {
    const v = opts[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new Error(`${key} must be a number >= 0, got ${JSON.stringify(v)}`);
  }
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const contract = loadSeldonContract();
  const oidcOptions: OidcOptions = {
    ...opts.oidc,
    clients: opts.oidc?.clients ?? [{ ...DEFAULT_CLIENT, ...(opts.clientSecret ? { clientSecret: opts.clientSecret } : {}) }],
  };
  const oidc = new OidcIssuer(opts.stateDir, oidcOptions);
  const store = new SeldonStore(opts.stateDir);
  if (opts.runtimes) store.state.runtimes = validateRuntimes(opts.runtimes);
  if (opts.outcomes) store.state.outcomes = validateOutcomes(opts.outcomes);
  for (const [key, data] of Object.entries(opts.secrets ?? {})) {
    if (!/^[^/]+\/[^/]+$/.test(key)) throw new Error(`secrets: key ${JSON.stringify(key)} must be "namespace/name"`);
    store.state.secrets[key] = validateSecretData(data, `secrets["${key}"]`);
  }
  store.save();

  let baseUrl = '';
  const rollouts = new RolloutController(store, {
    staleStatusMs: opts.staleStatusMs ?? DEFAULT_STALE_STATUS_MS,
    availableDelayMs: opts.availableDelayMs ?? 1000,
    readinessTimeoutMs: opts.readinessTimeoutMs ?? 60_000,
    baseUrl: () => baseUrl,
    log: opts.log,
  });
  const router = new Router();
  oidc.addRoutes(router);
  const contractViolations: string[] = [];
  const onViolation = (violation: string) => {
    contractViolations.push(violation);
    opts.log?.write(JSON.stringify({ ts: new Date().toISOString(), emulator: 'seldon', event: 'contract-violation', violation }) + '\n');
  };
  addDeployApiRoutes({ router, store, rollouts, oidc, contract, onViolation });
  addPredictionRoutes(router, store, rollouts);
  addControlRoutes(router, store, rollouts);
  router.get('/__emulator/contract-violations', ({ res }) => sendJson(res, 200, { violations: contractViolations }));

  const server = await startEmulatorServer({
    name: 'seldon',
    router,
    port: opts.port,
    host: opts.host,
    log: opts.log,
    faults: opts.faults,
    errorBody: (status, message) => deployError(status, message),
  });
  baseUrl = server.url;
  rollouts.resume();

  return {
    url: server.url,
    port: server.port,
    stateDir: opts.stateDir,
    oidcServer: `${server.url}/auth/realms/deploy-realm`,
    apiUrl: `${server.url}/seldon-deploy/api/v1alpha1`,
    faults: server.faults,
    contractViolations,
    close: async () => {
      await server.close();
      await rollouts.close();
    },
  };
}
