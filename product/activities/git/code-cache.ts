// The worker's cache of experiment code: one bare repository per git URL (shallow fetches of the refs
// asked for) and one read-only directory per (commit, sub-directory), extracted with `git archive`.
// A directory is complete or absent: it is extracted aside and renamed into place.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import type { ExperimentSource } from '../../common/pipeline';
import { ErrorType } from '../../common/errors';
import { failure } from '../http/errors';
import { GitCommandError, runGit, spawnGit } from './git';

const SHA_RE = /^[0-9a-f]{40}$/;

export class ExperimentCodeCache {
  /** Serialises git commands on one bare repository within this worker (other workers are handled by git's locks). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly cacheDir: string) {}

  /** Fetches `ref` (branch, tag or sha) and returns the commit it names. */
  async resolve(source: ExperimentSource, ref: string, signal?: AbortSignal): Promise<string> {
    const url = normalizeUrl(source.gitUrl);
    if (ref.startsWith('-') || !ref.trim()) throw gitSource(`invalid git ref ${JSON.stringify(ref)}`);
    const repoDir = path.join(this.cacheDir, 'git', hash(url, 16));
    return this.withLock(repoDir, async () => {
      await initBareRepo(repoDir, signal);
      // Several worker processes may share this cache (one volume, or the default temp dir): each fetch
      // lands in a ref of its own instead of the shared FETCH_HEAD, and git's own lock files (shallow,
      // config) are waited out with a few short retries.
      const fetchRef = `refs/ct-fetch/${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await runGit(['fetch', '--quiet', '--depth', '1', '--no-tags', '--', url, `+${ref}:${fetchRef}`], repoDir, signal);
            break;
          } catch (err) {
            if (attempt >= 8 || !isLockContention(err)) throw err;
            await new Promise((r) => setTimeout(r, 50 + Math.random() * 200 * attempt));
          }
        }
        const sha = (await runGit(['rev-parse', '--verify', `${fetchRef}^{commit}`], repoDir, signal)).trim();
        if (!SHA_RE.test(sha)) throw gitSource(`git fetch ${url} ${ref} resolved to ${JSON.stringify(sha)}`);
        return sha;
      } catch (err) {
        throw classifyGitError(err, `cannot fetch ref ${JSON.stringify(ref)} from ${source.gitUrl}`);
      } finally {
        await runGit(['update-ref', '-d', fetchRef], repoDir).catch(() => undefined);
      }
    });
  }

  /** The directory holding `source.path` at `sha`, fetching and extracting it when this worker lacks it. */
  async checkout(source: ExperimentSource, sha: string, signal?: AbortSignal): Promise<string> {
    if (!SHA_RE.test(sha)) throw gitSource(`not a commit sha: ${JSON.stringify(sha)}`);
    const subPath = normalizeSubPath(source.path);
    const codeDir = path.join(this.cacheDir, 'code', `${sha}-${hash(subPath, 8)}`);
    if (fs.existsSync(codeDir)) return codeDir;

    const url = normalizeUrl(source.gitUrl);
    const repoDir = path.join(this.cacheDir, 'git', hash(url, 16));
    const haveCommit = fs.existsSync(path.join(repoDir, 'HEAD')) &&
      (await runGit(['cat-file', '-e', `${sha}^{commit}`], repoDir).then(() => true, () => false));
    if (!haveCommit) await this.resolve(source, sha, signal); // another worker fetched it, or the cache was wiped

    const treeish = subPath ? `${sha}:${subPath}` : `${sha}^{tree}`;
    const kind = await runGit(['cat-file', '-t', treeish], repoDir).then((t) => t.trim(), () => 'missing');
    if (kind !== 'tree') {
      throw gitSource(`path ${JSON.stringify(source.path)} is not a directory in ${source.gitUrl} at ${sha}`);
    }
    await fsp.mkdir(path.dirname(codeDir), { recursive: true });
    const tmp = `${codeDir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    try {
      await this.withLock(repoDir, () => extractTree(repoDir, treeish, tmp, signal));
      await fsp.rename(tmp, codeDir).catch(async (err: NodeJS.ErrnoException) => {
        if (!fs.existsSync(codeDir)) throw err; // otherwise a concurrent attempt won the race: same content
      });
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
    return codeDir;
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    this.locks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === run) this.locks.delete(key);
    }
  }
}

/** Creates the bare repository aside and renames it into place, so concurrent workers never see half of one. */
async function initBareRepo(repoDir: string, signal?: AbortSignal): Promise<void> {
  if (fs.existsSync(path.join(repoDir, 'HEAD'))) return;
  await fsp.mkdir(path.dirname(repoDir), { recursive: true });
  const tmp = `${repoDir}.init-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    await runGit(['init', '--bare', '--quiet', tmp], path.dirname(repoDir), signal);
    await fsp.rename(tmp, repoDir).catch((err: NodeJS.ErrnoException) => {
      if (!fs.existsSync(path.join(repoDir, 'HEAD'))) throw err; // otherwise another worker created it first
    });
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * git refuses, rather than waits, when another process holds one of its lock files, or when another
 * shallow fetch rewrote the repository's `shallow` file meanwhile.
 */
const LOCK_CONTENTION = /\.lock'?: File exists|could not lock|Unable to create '.*\.lock'|shallow file has changed since we read it/i;

function isLockContention(err: unknown): boolean {
  return err instanceof GitCommandError && LOCK_CONTENTION.test(err.stderr);
}

/** Extracts a tree with `git archive`; symlinks and special files are skipped (they could point outside). */
async function extractTree(repoDir: string, treeish: string, dest: string, signal?: AbortSignal): Promise<void> {
  await fsp.mkdir(dest, { recursive: true });
  const { child, done } = spawnGit(['archive', '--format=tar', treeish], repoDir, signal);
  const extract = tar.extract();
  const writing = (async () => {
    for await (const entry of extract) {
      const rel = path.posix.normalize(entry.header.name);
      const target = path.join(dest, rel);
      if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel) || !target.startsWith(dest + path.sep)) {
        entry.resume();
        continue;
      }
      if (entry.header.type === 'directory') {
        await fsp.mkdir(target, { recursive: true });
        entry.resume();
      } else if (entry.header.type === 'file') {
        await fsp.mkdir(path.dirname(target), { recursive: true });
        await pipeline(entry, fs.createWriteStream(target, { mode: (entry.header.mode ?? 0o644) & 0o755 }));
      } else {
        entry.resume();
      }
    }
  })();
  await Promise.all([pipeline(child.stdout!, extract), writing, done]);
}

/** Local paths are made absolute (git runs inside the cache); URLs and scp-like addresses are kept. */
export function normalizeUrl(url: string): string {
  const u = url.trim();
  if (!u || u.startsWith('-')) throw gitSource(`invalid git URL ${JSON.stringify(url)}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) {
    if (/^ext::/i.test(u)) throw gitSource(`git URL scheme not allowed: ${url}`);
    return u;
  }
  if (/^[^/]+@?[^/]*:/.test(u) && !u.startsWith('/')) return u; // git@host:org/repo.git
  return path.resolve(u);
}

function normalizeSubPath(p: string): string {
  const norm = path.posix.normalize((p || '.').replace(/\\/g, '/')).replace(/^\.\/?/, '').replace(/\/+$/, '');
  if (norm.startsWith('..') || path.posix.isAbsolute(norm)) throw gitSource(`experiment path ${JSON.stringify(p)} escapes the repository`);
  return norm;
}

function hash(text: string, chars: number): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, chars);
}

export function gitSource(message: string): Error {
  return failure(ErrorType.GitSource, message, true);
}

/** Network trouble and other workers' locks are worth a retry; a missing repository or ref is not. */
function classifyGitError(err: unknown, context: string): unknown {
  if (!(err instanceof GitCommandError)) return err;
  const stderr = err.stderr.trim();
  const transient = /Could not resolve host|Connection timed out|Connection refused|Connection reset|early EOF|The requested URL returned error: (5\d\d|429)|RPC failed|Operation timed out/i;
  // Contention outlasting the short retries is still only contention: the activity's retry goes on.
  if (transient.test(stderr) || LOCK_CONTENTION.test(stderr)) return failure(ErrorType.Unavailable, `${context}: ${stderr}`, false);
  return gitSource(`${context}: ${stderr || `git exited with ${err.exitCode}`}`);
}
