// Benchmark: diffCommit at scale. Commits of 10k, 100k and 1M tiny files are created in the Pachyderm
// emulator (one ModifyFile NDJSON stream of many small addFile messages each), then the diffCommit
// activity (in a MockActivityEnvironment) counts each commit's DiffFile stream, against merely reading the
// same DiffFile NDJSON stream over HTTP (same request, bytes counted and dropped). Every measured run is a
// separate child process, so its time and RSS are its own; the emulator runs in this process.
// Method (both modes identically): a worker is a long-running process, so each child first does its setup
// (modules, createActivities or nothing, untimed) and one untimed warm-up call of its own mode on a different
// small commit (WARMUP_FILES files: JIT, the first connection, which the timed call then reuses), then a full
// GC (the start-up's garbage: without it, its survivors were copied by scavenges inside the timed call, ~40 ms
// of CPU at 10k files), then the timed call. The timed diffCommit call is the whole activity: its
// InspectCommit, DiffFile, parsing, digest. (Until 2026-11-28 the timed call was the child's first, cold.)
//
//   npx tsx bench/diff-scale.ts [sizes=10000,100000,1000000] [reps=3]      (writes its section of bench/RESULTS.md)
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { startPachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { PachdRestClient } from '@continuous-training/emulators/pachyderm/client';
import { createActivities, type ConnectionsConfig } from 'continuous-training/activities';
import { repoOf } from 'continuous-training/activities/pachyderm/types';
import type { DiffSummary } from 'continuous-training/common/types';
import { deadline, fmt, loadAverage, machine, machineLine, procMemory, runMain, spawnTs, tempDir, writeSection } from './lib/harness';

const TARGET_RATIO = 1.5;
/** Files in the warm-up commit each child reads once, untimed, before its timed call. */
const WARMUP_FILES = 1000;

interface ChildArgs {
  mode: 'raw' | 'diff';
  pachd: string;
  repo: string;
  commit: string;
  warmupRepo: string;
  warmupCommit: string;
}

interface ChildResult {
  mode: ChildArgs['mode'];
  seconds: number;
  /** Files counted (diff) or NDJSON lines read (raw). */
  count: number;
  bytes: number;
  /** RSS after setup and warm-up, just before the timed call. */
  startRssMiB: number;
  peakRssMiB: number;
  /** User + system CPU seconds of the child during the measured part. */
  cpuSeconds: number;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(JSON.parse(process.argv[3]) as ChildArgs);
  const sizes = (process.argv[2] ?? '10000,100000,1000000').split(',').map(Number);
  const reps = Number(process.argv[3] ?? 3);
  const loadBefore = loadAverage();
  const m = machine();
  const tmp = tempDir('diff');
  const pachd = await startPachydermEmulator({ stateDir: path.join(tmp, 'pachd'), port: 0, grpcPort: 0, log: null });
  const stop = async () => {
    await pachd.close();
    (await import('node:fs')).rmSync(tmp, { recursive: true, force: true });
  };
  deadline(40 * 60_000, stop);
  const rows: string[] = [];
  const notes: string[] = [];
  try {
    const warmupRepo = 'diff-warmup';
    const warmup = await createCommit(pachd.url, warmupRepo, WARMUP_FILES);
    notes.push(`${WARMUP_FILES} files (the warm-up commit): ModifyFile upload ${warmup.uploadSeconds.toFixed(1)} s, then ${warmup.finishSeconds.toFixed(1)} s until FINISHED`);
    for (const n of sizes) {
      const repo = `diff-${n}`;
      const created = await createCommit(pachd.url, repo, n);
      console.log(`${n} files: uploaded in ${created.uploadSeconds.toFixed(1)} s (${fmt(created.bodyMiB, 1)} MiB of NDJSON), finished (indexed) ${created.finishSeconds.toFixed(1)} s later`);
      notes.push(`${n} files: ModifyFile upload ${created.uploadSeconds.toFixed(1)} s (${fmt(created.bodyMiB, 1)} MiB NDJSON), then ${created.finishSeconds.toFixed(1)} s until the commit was FINISHED (indexed)`);
      const results: ChildResult[] = [];
      for (let rep = 0; rep < reps; rep++) {
        for (const mode of rep % 2 === 0 ? (['raw', 'diff'] as const) : (['diff', 'raw'] as const)) {
          const r = await runChild({ mode, pachd: pachd.url, repo, commit: created.commit, warmupRepo, warmupCommit: warmup.commit });
          console.log(`  ${mode}: ${r.seconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s), ${r.count} ${mode === 'diff' ? 'files' : 'lines'}, RSS ${fmt(r.startRssMiB)} → peak ${fmt(r.peakRssMiB)} MiB`);
          results.push(r);
        }
      }
      const best = (mode: ChildArgs['mode']) => results.filter((r) => r.mode === mode).reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const peak = (mode: ChildArgs['mode']) => Math.max(...results.filter((r) => r.mode === mode).map((r) => r.peakRssMiB));
      const start = (mode: ChildArgs['mode']) => Math.min(...results.filter((r) => r.mode === mode).map((r) => r.startRssMiB));
      const raw = best('raw');
      const diff = best('diff');
      if (diff.count !== n) throw new Error(`diffCommit counted ${diff.count} files, expected ${n}`);
      const ratio = diff.seconds / raw.seconds;
      rows.push(
        `| ${n.toLocaleString('en')} | ${fmt(raw.bytes / 2 ** 20, 1)} | ${raw.seconds.toFixed(3)} | ${diff.seconds.toFixed(3)} | **${ratio.toFixed(2)}×** ${ratio <= TARGET_RATIO ? '(met)' : '(missed)'} | ${fmt((diff.seconds - raw.seconds) * 1000)} | ${raw.cpuSeconds.toFixed(2)} / ${diff.cpuSeconds.toFixed(2)} | ${fmt(start('raw'))} → ${fmt(peak('raw'))} | ${fmt(start('diff'))} → ${fmt(peak('diff'))} |`,
      );
    }
    const loadAfter = loadAverage();
    const report = [
      '## Diff scale: diffCommit on large commits',
      '',
      `Command: \`npx tsx bench/diff-scale.ts ${sizes.join(',')} ${reps}\`. ${machineLine(m, loadBefore, loadAfter)}`,
      '',
      'One commit per size in the Pachyderm emulator (first commit of its repo, so everything is added; tiny distinct files in',
      'directories of 1000). `diffCommit` (the activity, in a MockActivityEnvironment: InspectCommit, then DiffFile parsed line by line,',
      'counted by kind, hashed into the digest) against a raw read of the same DiffFile request over HTTP (bytes counted, nothing parsed).',
      `Each run is its own child process; best time of ${reps} runs per mode (alternating order), peak RSS over the runs (kernel high-water`,
      `mark, so it includes the process's start-up). The emulator serving the stream runs in the benchmark process and is the same for both.`,
      `Measured warm, both modes alike, as in a long-running worker: each child does its setup (module loading; createActivities for`,
      `diffCommit) and one untimed call of its own mode on another commit of ${WARMUP_FILES.toLocaleString('en')} files (JIT, the first connection, kept alive and reused),`,
      'then a full GC (the start-up\'s garbage), then the timed call; the timed diffCommit is the whole activity (InspectCommit, DiffFile,',
      'parsing, digest). RSS "start" is just before the timed call. (Runs before 2026-11-28 timed each child\'s first, cold call.)',
      `Target: diffCommit within ${TARGET_RATIO}× of the raw read, with flat memory.`,
      '',
      '| files | DiffFile NDJSON (MiB) | raw read (s) | diffCommit (s) | diffCommit / raw | difference (ms) | client CPU s, raw / diffCommit | raw RSS start → peak (MiB) | diffCommit RSS start → peak (MiB) |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      'The client CPU column is the CPU time of the measuring process itself (same runs as the times): diffCommit parses every NDJSON',
      'line (JSON.parse) and hashes it, the raw read only counts bytes. Both wait on the emulator producing the stream; the parsing',
      'overlaps with it when a core is free, so the ratio grows when the machine is busy.',
      '',
      'Creating the commits (one ModifyFile request each, from this process):',
      '',
      ...notes.map((n) => `- ${n}`),
    ].join('\n');
    console.log(`\n${report}\n`);
    writeSection('diff-scale', report);
  } finally {
    await stop();
  }
}

/** One commit of `n` tiny files, uploaded as one ModifyFile NDJSON body written in ~1 MiB chunks. */
async function createCommit(url: string, repo: string, n: number): Promise<{ commit: string; uploadSeconds: number; finishSeconds: number; bodyMiB: number }> {
  const client = new PachdRestClient(url);
  const repoMsg = { name: repo, type: 'user', project: { name: 'default' } };
  await client.call('pfs_v2.API/CreateRepo', { repo: repoMsg });
  const { id } = await client.call<{ id: string }>('pfs_v2.API/StartCommit', { branch: { repo: repoMsg, name: 'master' } });
  const commitMsg = { repo: repoMsg, id };
  const started = Date.now();
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    const req = http.request(`${url}/api/pfs_v2.API/ModifyFile`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`ModifyFile ${res.statusCode}: ${Buffer.concat(chunks).toString()}`))));
    });
    req.on('error', reject);
    void (async () => {
      let chunk = JSON.stringify({ setCommit: commitMsg }) + '\n';
      for (let i = 0; i < n; i++) {
        chunk += `{"addFile":{"path":"/d${Math.floor(i / 1000)}/f${i}.txt","raw":"${Buffer.from(`${i}\n`).toString('base64')}"}}\n`;
        if (chunk.length >= 1 << 20 || i === n - 1) {
          bytes += chunk.length;
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
          chunk = '';
        }
      }
      req.end();
    })().catch(reject);
  });
  const uploaded = Date.now();
  await client.call('pfs_v2.API/FinishCommit', { commit: commitMsg });
  await client.call('pfs_v2.API/InspectCommit', { commit: commitMsg, wait: 'FINISHED' });
  return { commit: id, uploadSeconds: (uploaded - started) / 1000, finishSeconds: (Date.now() - uploaded) / 1000, bodyMiB: bytes / 2 ** 20 };
}

function runChild(args: ChildArgs): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawnTs(__filename, ['--child', JSON.stringify(args)], { PATH: process.env.PATH, HOME: process.env.HOME });
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr?.pipe(process.stderr);
    proc.on('error', reject);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20 * 60_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${args.mode} child exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ChildResult);
    });
  });
}

/** Reads one commit's DiffFile stream raw (bytes and lines counted), over node's keep-alive global agent. */
function rawRead(pachd: string, repo: string, commit: string): Promise<{ count: number; bytes: number }> {
  const body = { newFile: { commit: { repo: repoOf('default', repo), id: commit }, path: '/' } };
  let count = 0;
  let bytes = 0;
  return new Promise((resolve, reject) => {
    const req = http.request(`${pachd}/api/pfs_v2.API/DiffFile`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) count++;
      });
      res.on('end', () => resolve({ count, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function child(args: ChildArgs): Promise<void> {
  // Setup, untimed: what a worker does once when it starts.
  let read: (repo: string, commit: string) => Promise<{ count: number; bytes: number }>;
  if (args.mode === 'raw') {
    read = (repo, commit) => rawRead(args.pachd, repo, commit);
  } else {
    const config: ConnectionsConfig = {
      pachyderm: { url: args.pachd, experimentHost: '127.0.0.1', experimentPort: 1650 },
      determined: { url: 'http://127.0.0.1:9', user: 'determined', password: '' },
      seldon: { url: 'http://127.0.0.1:9', oidcIssuer: 'http://127.0.0.1:9', clientId: 'sd-api', clientSecret: 'x' },
      timeoutMs: 600_000,
      cacheDir: path.join(os.tmpdir(), 'ct-bench-diff-cache-unused'),
    };
    const activities = createActivities(config);
    const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
    read = async (repo, commit) => {
      const summary: DiffSummary = await env.run(activities.diffCommit, { repo: { project: 'default', repo, branch: 'master' }, commit, baseCommit: null });
      return { count: summary.added.files + summary.modified.files + summary.deleted.files, bytes: 0 }; // bytes: raw mode only
    };
  }
  // Warm-up, untimed: one call of the same mode on another commit, as a worker that has run before.
  const warm = await read(args.warmupRepo, args.warmupCommit);
  if (warm.count < WARMUP_FILES) throw new Error(`warm-up counted ${warm.count}, expected at least ${WARMUP_FILES}`);
  // Collect the start-up's garbage now, so that no scavenge inside the timed call copies it.
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  const startRss = procMemory(process.pid)?.rssMiB ?? NaN;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const { count, bytes } = await read(args.repo, args.commit);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const mem = procMemory(process.pid);
  const result: ChildResult = { mode: args.mode, seconds, count, bytes, startRssMiB: startRss, peakRssMiB: mem?.hwmMiB ?? NaN, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  process.stdout.write(JSON.stringify(result) + '\n');
}

runMain(main);
