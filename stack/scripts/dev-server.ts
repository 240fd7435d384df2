// Starts `temporal server start-dev` (the real Temporal server and UI in one binary) with persistent
// state, and registers the project's search attributes. Stopped with stop(); never left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES } from 'continuous-training/common/search-attributes';
import { temporalCliPath } from 'continuous-training/scripts/temporal-binaries';

export interface DevServerOptions {
  dbFile: string;
  port: number;
  uiPort: number;
  logFile: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

const TYPE_NAMES: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', TEXT: 'Text', BOOL: 'Bool', DOUBLE: 'Double', DATETIME: 'Datetime' };

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const cli = temporalCliPath();
  if (!cli) throw new Error('the temporal CLI is missing: run scripts/setup.sh (it installs it into .venv)');
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const log = fs.openSync(opts.logFile, 'a');
  const args = [
    'server', 'start-dev',
    '--db-filename', opts.dbFile,
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    '--ui-port', String(opts.uiPort),
    '--log-level', 'warn',
    ...ALL_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${TYPE_NAMES[key.type]}`]),
  ];
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`temporal server start-dev ${exited}; see ${opts.logFile} (is port ${opts.port} or ${opts.uiPort} taken?)`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal server start-dev did not answer on ${address} within 60 s; see ${opts.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    stop: async () => {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
