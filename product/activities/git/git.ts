// Runs the git CLI: no shell, no credential prompts, no `ext::` transport; errors carry git's stderr.
import { spawn, type ChildProcess } from 'node:child_process';

export class GitCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || 'no message'}`);
  }
}

const SAFE_CONFIG = ['-c', 'protocol.ext.allow=never', '-c', 'core.askPass=', '-c', 'credential.helper='];

function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' };
}

/** Starts git with stdout as a stream (e.g. `git archive`); `done` settles when it exits. */
export function spawnGit(args: string[], cwd: string, signal?: AbortSignal): { child: ChildProcess; done: Promise<void> } {
  const child = spawn('git', [...SAFE_CONFIG, ...args], { cwd, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'], signal });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 8192) stderr += chunk.toString('utf8');
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new GitCommandError(args, code, stderr))));
  });
  return { child, done };
}

/** Runs git to completion and returns its (small) stdout. */
export async function runGit(args: string[], cwd: string, signal?: AbortSignal): Promise<string> {
  const { child, done } = spawnGit(args, cwd, signal);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    if (stdout.length < 1_048_576) stdout += chunk.toString('utf8');
  });
  await done;
  return stdout;
}
