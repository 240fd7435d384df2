// Standalone Determined master emulator:
//   npx tsx emulators/determined/main.ts --port 8080 --state-dir .state/determined [--password P]
//     [--runner simulated|process] [--python PATH] [--delay-ms N | --queued-ms N --pulling-ms N --starting-ms N --running-ms N]
//     [--quiet]
import { startDeterminedEmulator, type DeterminedEmulatorOptions, type RunDelays } from './index';

const HELP = `Determined master emulator (REST API of Determined 0.38)

Usage: npx tsx emulators/determined/main.ts [options]

  --port N            port to listen on (default 8080; 0 = a free port)
  --host H            address to bind (default 127.0.0.1)
  --state-dir DIR     where state is persisted (default .state/determined)
  --password P        password of the users "determined" and "admin" (default empty)
  --runner R          simulated (default) or process (really runs the entrypoint command)
  --python PATH       python used by the process runner (default .venv/bin/python)
  --delay-ms N        the same delay for QUEUED, PULLING, STARTING and simulated RUNNING
  --queued-ms N  --pulling-ms N  --starting-ms N  --running-ms N   per-state delays
  --quiet             no request logs on stdout
  --help              this text
`;

function parseArgs(argv: string[]): DeterminedEmulatorOptions & { quiet: boolean } {
  const opts: DeterminedEmulatorOptions & { quiet: boolean } = { port: 8080, stateDir: '.state/determined', quiet: false };
  const delays: Partial<RunDelays> = {};
  const number = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        process.exit(0);
        break;
      case '--port': opts.port = number(flag, argv[++i]); break;
      case '--host': opts.host = value(); break;
      case '--state-dir': opts.stateDir = value(); break;
      case '--password': opts.password = value(); break;
      case '--runner': {
        const r = value();
        if (r !== 'simulated' && r !== 'process') throw new Error('--runner must be simulated or process');
        opts.runner = r;
        break;
      }
      case '--python': opts.python = value(); break;
      case '--delay-ms': {
        const n = number(flag, argv[++i]);
        Object.assign(delays, { queuedMs: n, pullingMs: n, startingMs: n, runningMs: n });
        break;
      }
      case '--queued-ms': delays.queuedMs = number(flag, argv[++i]); break;
      case '--pulling-ms': delays.pullingMs = number(flag, argv[++i]); break;
      case '--starting-ms': delays.startingMs = number(flag, argv[++i]); break;
      case '--running-ms': delays.runningMs = number(flag, argv[++i]); break;
      case '--quiet': opts.quiet = true; break;
      default: throw new Error(`unknown option ${flag} (see --help)`);
    }
  }
  opts.delays = delays;
  return opts;
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const emulator = await startDeterminedEmulator({ ...opts, log: opts.quiet ? null : process.stdout });
  process.stdout.write(`Determined emulator listening on ${emulator.url} (state in ${emulator.stateDir})\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`received ${signal}, shutting down\n`);
    void emulator.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
