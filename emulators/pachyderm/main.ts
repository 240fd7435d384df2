// Standalone pachd emulator:  npx tsx emulators/pachyderm/main.ts --port 1659 --grpc-port 1650 --state-dir .state/pachd
import { parseArgs } from 'node:util';
import { startPachydermEmulator } from './index';

const HELP = `pachd emulator (Pachyderm's HTTP API: REST gateway /api/, /pfs/ downloads, /healthz; and its gRPC API)

Usage: npx tsx emulators/pachyderm/main.ts [options]

  --port N          HTTP port (default 1659, pachd's; 0 picks a free port)
  --grpc-port N     gRPC port (default 1650, pachd's, or a free one when --port is 0; 0 picks a free port)
  --host H          address to listen on, HTTP and gRPC (default 127.0.0.1)
  --state-dir DIR   where repos, commits and files are kept (default .state/pachd)
  --auth-token T    enable auth: every call must send header (gRPC: metadata) authn-token: T
                    (also read from PACHD_EMULATOR_AUTH_TOKEN)
  --faults JSON     initial faults, e.g. '{"rules":[{"route":"DiffFile","errorRate":0.5}]}'
  --quiet           no request logs (they go to stdout as JSON lines by default)
  --help            this text
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '1659' },
      'grpc-port': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'state-dir': { type: 'string', default: '.state/pachd' },
      'auth-token': { type: 'string' },
      faults: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${values.port}`);
  // --port 0 (tests, parallel runs) must not collide on a fixed gRPC port either.
  const grpcPort = Number(values['grpc-port'] ?? (port === 0 ? '0' : '1650'));
  if (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535) throw new Error(`--grpc-port must be a port number, got ${values['grpc-port']}`);
  let faults;
  if (values.faults) {
    try {
      faults = JSON.parse(values.faults);
    } catch (err) {
      throw new Error(`--faults must be JSON: ${(err as Error).message}`);
    }
  }
  const emulator = await startPachydermEmulator({
    port,
    grpcPort,
    host: values.host,
    stateDir: values['state-dir'],
    authToken: values['auth-token'] ?? process.env.PACHD_EMULATOR_AUTH_TOKEN,
    faults,
    log: values.quiet ? null : process.stdout,
  });
  process.stdout.write(`pachd emulator listening on ${emulator.url} and gRPC ${emulator.grpcAddress} (state: ${emulator.stateDir})\n`);
  const stop = () => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`pachd emulator: ${(err as Error).message}\n`);
  process.exit(1);
});
