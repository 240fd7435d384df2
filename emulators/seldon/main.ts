// Standalone Seldon Deploy emulator: `npx tsx emulators/seldon/main.ts --port 8003 --state-dir .state/seldon`.
import fs from 'node:fs';
import yaml from 'js-yaml';
import { startSeldonEmulator, type SeldonEmulatorOptions } from './emulator';
import type { OidcUser } from './oidc';
import type { FaultConfig } from '../common/faults';

const HELP = `Seldon Deploy emulator (OIDC issuer + Deploy API v1alpha1 + model ingress)

Usage: npx tsx emulators/seldon/main.ts --state-dir DIR [options]

  --state-dir DIR            where state is kept (required; reused across restarts)
  --port N                   listen port (default 0: a free port)
  --host H                   listen address (default 127.0.0.1)
  --client-secret S          secret of the OIDC client sd-api (default sd-api-secret)
  --user NAME:PASSWORD       a user for the password grant (repeatable; default admin@seldon.io:12341234)
  --token-ttl SECONDS        lifetime of issued tokens (default 300)
  --stale-status-ms MS       how long the status stays stale after a create or an update before the controller
                             writes Creating (default 200; env SELDON_EMULATOR_STALE_STATUS_MS)
  --available-delay-ms MS    how long a rollout takes (default 1000)
  --readiness-timeout-ms MS  how long a model container may take to answer /health/ping (default 60000)
  --runtimes FILE            JSON/YAML list of {image, command, cwd?}: images run as local processes
  --outcomes FILE            JSON/YAML list of outcome rules {name?, namespace?, image?, state, delayMs?, message?}
  --secrets FILE             JSON/YAML map {"namespace/name": {KEY: "value"}} of emulated Kubernetes secrets
  --faults FILE              JSON/YAML fault config {seed?, rules: [...]}
  --quiet                    no logs on stderr
  --help                     this text

Prints the URL on stdout once listening; stops (and stops every model process) on SIGINT/SIGTERM.
`;

function fail(message: string): never {
  process.stderr.write(`seldon emulator: ${message}\n(see --help)\n`);
  process.exit(2);
}

function readDataFile(file: string, option: string): unknown {
  try {
    return yaml.load(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`${option} ${file}: ${(err as Error).message}`);
  }
}

function number(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) fail(`${option} needs a number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

function parseArgs(argv: string[]): SeldonEmulatorOptions & { quiet: boolean } {
  const opts: Partial<SeldonEmulatorOptions> & { quiet: boolean } = { quiet: false };
  const users: OidcUser[] = [];
  let tokenTtlSeconds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        process.exit(0);
        break;
      case '--state-dir':
        opts.stateDir = value();
        break;
      case '--port':
        opts.port = number(value(), arg);
        break;
      case '--host':
        opts.host = value();
        break;
      case '--client-secret':
        opts.clientSecret = value();
        break;
      case '--user': {
        const v = value();
        const colon = v.indexOf(':');
        if (colon <= 0) fail(`--user needs NAME:PASSWORD, got ${JSON.stringify(v)}`);
        users.push({ username: v.slice(0, colon), password: v.slice(colon + 1) });
        break;
      }
      case '--token-ttl':
        tokenTtlSeconds = number(value(), arg);
        break;
      case '--stale-status-ms':
        opts.staleStatusMs = number(value(), arg);
        break;
      case '--available-delay-ms':
        opts.availableDelayMs = number(value(), arg);
        break;
      case '--readiness-timeout-ms':
        opts.readinessTimeoutMs = number(value(), arg);
        break;
      case '--runtimes':
        opts.runtimes = readDataFile(value(), arg) as SeldonEmulatorOptions['runtimes'];
        break;
      case '--outcomes':
        opts.outcomes = readDataFile(value(), arg) as SeldonEmulatorOptions['outcomes'];
        break;
      case '--secrets':
        opts.secrets = readDataFile(value(), arg) as SeldonEmulatorOptions['secrets'];
        break;
      case '--faults':
        opts.faults = readDataFile(value(), arg) as FaultConfig;
        break;
      case '--quiet':
        opts.quiet = true;
        break;
      default:
        fail(`unknown option ${arg}`);
    }
  }
  if (!opts.stateDir) fail('--state-dir is required');
  const staleFromEnv = process.env.SELDON_EMULATOR_STALE_STATUS_MS;
  if (opts.staleStatusMs === undefined && staleFromEnv) opts.staleStatusMs = number(staleFromEnv, 'SELDON_EMULATOR_STALE_STATUS_MS');
  if (users.length || tokenTtlSeconds !== undefined) {
    opts.oidc = { ...(users.length ? { users } : {}), ...(tokenTtlSeconds !== undefined ? { tokenTtlSeconds } : {}) };
  }
  return opts as SeldonEmulatorOptions & { quiet: boolean };
}

async function main(): Promise<void> {
  const { quiet, ...opts } = parseArgs(process.argv.slice(2));
  let emulator;
  try {
    emulator = await startSeldonEmulator({ ...opts, log: quiet ? null : process.stderr });
  } catch (err) {
    fail((err as Error).message);
  }
  process.stdout.write(`${emulator.url}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`seldon emulator: ${signal}, stopping\n`);
    void emulator.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
