// Small helpers for the stack's child processes (PostgreSQL, pachd, the Temporal services): never left behind,
// free ports, the tail of a log.
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/**
 * Resolves when the child exits. Until then it is ended with this process too: jest's forceExit (or any
 * process.exit) must not leave a server running.
 */
export function exitOf(child: ChildProcess, endSignal: NodeJS.Signals): Promise<number | null> {
  const endWithUs = () => child.kill(endSignal);
  process.once('exit', endWithUs);
  return new Promise((resolve) => {
    const done = (code: number | null) => {
      process.off('exit', endWithUs);
      resolve(code);
    };
    child.once('exit', (code) => done(code));
    child.once('error', () => done(-1));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
