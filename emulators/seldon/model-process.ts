// The "container" of a deployed model: a child process started from a configured runtime command, with the
// environment a seldon-core Python microservice gets, watched until `GET /health/ping` answers 200.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';

export interface RuntimeConfig {
  /** An exact image (`repo/serve:1.0`) or a prefix ending in `*` (`repo/serve:*`). */
  image: string;
  /** argv of the process to start, e.g. `["python", "serve.py"]`. */
  command: string[];
  /** Working directory; relative paths resolve against the emulator's own working directory. */
  cwd?: string;
}

export function validateRuntimes(value: unknown): RuntimeConfig[] {
  if (!Array.isArray(value)) throw new Error('runtimes must be a list of {image, command, cwd?}');
  return value.map((r: unknown, i) => {
    const rt = r as Partial<RuntimeConfig> | null;
    if (!rt || typeof rt !== 'object') throw new Error(`runtimes[${i}] must be an object {image, command, cwd?}`);
    if (typeof rt.image !== 'string' || !rt.image) throw new Error(`runtimes[${i}].image must be a non-empty string`);
    if (rt.image.indexOf('*') >= 0 && rt.image.indexOf('*') !== rt.image.length - 1) {
      throw new Error(`runtimes[${i}].image: "*" is only allowed at the end (a prefix match)`);
    }
    if (!Array.isArray(rt.command) || rt.command.length === 0 || !rt.command.every((a) => typeof a === 'string')) {
      throw new Error(`runtimes[${i}].command must be a non-empty list of strings (argv)`);
    }
    if (rt.cwd !== undefined && typeof rt.cwd !== 'string') throw new Error(`runtimes[${i}].cwd must be a string`);
    return { image: rt.image, command: [...rt.command], ...(rt.cwd ? { cwd: rt.cwd } : {}) };
  });
}

/** `*` at the end of a pattern matches any rest; otherwise the match is exact. */
export function matchesPattern(pattern: string, value: string): boolean {
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : pattern === value;
}

export function findRuntime(runtimes: RuntimeConfig[], image: string): RuntimeConfig | undefined {
  return runtimes.find((r) => matchesPattern(r.image, image));
}

/**
 * `count` distinct free TCP ports on 127.0.0.1: all are held open until every one is known, so the OS cannot hand
 * out the same port twice; they are released before the child binds them.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

export interface ModelProcessOptions {
  runtime: RuntimeConfig;
  env: Record<string, string>;
  httpPort: number;
  /** Used in log lines, e.g. `seldon/iris@2`. */
  label: string;
  log?: NodeJS.WritableStream | null;
}

const STDERR_LINES_KEPT = 20;

export class ModelProcess {
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private exitInfo?: { code: number | null; signal: NodeJS.Signals | null };
  private readonly exited: Promise<void>;
  private spawnError?: Error;

  constructor(private readonly opts: ModelProcessOptions) {
    const [cmd, ...args] = opts.runtime.command;
    // detached: the process gets its own group, so stop() also ends whatever it started (sh -c, workers).
    this.child = spawn(cmd, args, {
      cwd: opts.runtime.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise((resolve) => {
      // 'close' comes after the pipes are drained (so the stderr tail is complete); a grandchild holding the
      // pipes open must not delay it for long, hence the fallback after 'exit'.
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exitInfo) return;
        this.exitInfo = { code, signal };
        resolve();
      };
      this.child.once('close', done);
      this.child.once('exit', (code, signal) => setTimeout(() => done(code, signal), 300).unref());
      this.child.once('error', (err) => {
        this.spawnError = err;
        this.exitInfo = { code: null, signal: null };
        resolve();
      });
    });
    this.pipeLines(this.child.stdout, 'stdout');
    this.pipeLines(this.child.stderr, 'stderr');
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get port(): number {
    return this.opts.httpPort;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Resolves once `/health/ping` answers 200; rejects if the process exits first, on timeout or on abort. */
  async waitReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) throw new Error('aborted');
      if (!this.running) throw new Error(this.describeExit());
      if (await this.ping()) return;
      if (Date.now() >= deadline) {
        throw new Error(`container did not become ready within ${timeoutMs} ms (GET /health/ping)${this.stderrSuffix()}`);
      }
      await Promise.race([new Promise((r) => setTimeout(r, 100)), this.exited]);
    }
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  describeExit(): string {
    if (this.spawnError) return `container failed to start: ${this.spawnError.message}`;
    const how = this.exitInfo?.signal ? `signal ${this.exitInfo.signal}` : `exit code ${this.exitInfo?.code}`;
    return `container exited with ${how} before becoming ready${this.stderrSuffix()}`;
  }

  private stderrSuffix(): string {
    return this.stderrTail.length ? `; last stderr lines: ${this.stderrTail.join('\n')}` : '';
  }

  private signalGroup(sig: NodeJS.Signals): void {
    try {
      process.kill(-(this.child.pid as number), sig);
    } catch {
      try {
        this.child.kill(sig);
      } catch {
        // already gone
      }
    }
  }

  private async ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.opts.httpPort, path: '/health/ping', timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  }

  private pipeLines(stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr'): void {
    if (!stream) return;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        this.onLine(name, pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (pending) this.onLine(name, pending);
    });
  }

  private onLine(stream: 'stdout' | 'stderr', line: string): void {
    if (stream === 'stderr') {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
    }
    this.opts.log?.write(JSON.stringify({ ts: new Date().toISOString(), emulator: 'seldon', container: this.opts.label, stream, line }) + '\n');
  }
}
