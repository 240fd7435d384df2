// Benchmark: throughput of one worker. N repositories (distinct input/output repos, models and deployment
// names) each receive a commit at the same moment; every commit goes signal-with-start (client/signals.ts)
// → training → cascade → deployment, on zero-latency simulated emulators. Pipelines completed per minute,
// and the worker's RSS (the real worker, worker/main.ts, in a child process; sampled from /proc). Baseline in
// the same run: the same N pipelines run directly and concurrently by a plain script (the activity
// functions in the workflows' order, no Temporal), also a child process with its RSS sampled.
//
//   npx tsx bench/throughput.ts [repos=50] [rounds=2]      (writes its section of bench/RESULTS.md)
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { startDirectChild, type DirectRun } from './lib/direct';
import { Cascade, runOrchestrated, type OrchestratedRun } from './lib/pipeline-run';
import {
  benchPipeline,
  cpuMeter,
  emulatorStreamErrors,
  findPid,
  deadline,
  fmt,
  loadAverage,
  machine,
  machineLine,
  median,
  quantile,
  runMain,
  RssSampler,
  smallBatch,
  startBenchEnv,
  startWorkerChild,
  workerEnv,
  writeSection,
} from './lib/harness';
import type { PipelineSpec } from 'continuous-training/common/pipeline';

interface Round {
  mode: 'workflows' | 'direct';
  /** Retried calls (direct only; the workflows' retries are in their histories). */
  retries?: number;
  round: number;
  seconds: number;
  latenciesMs: number[];
  /** CPU seconds used by each process during the round. */
  cpu: Record<string, number>;
}

async function main(): Promise<void> {
  const repos = Number(process.argv[2] ?? 50);
  const rounds = Number(process.argv[3] ?? 2);
  const loadBefore = loadAverage();
  const m = machine();
  const env = await startBenchEnv({ name: 'throughput' });
  deadline(20 * 60_000, env.close);
  try {
    const taskQueue = 'bench-throughput';
    const worker = await startWorkerChild(workerEnv(env.stack.connections, env.dev.address, taskQueue));
    env.onClose(() => worker.stop());
    const direct = await startDirectChild(env.stack.connections);
    env.onClose(() => direct.stop());

    const orchPipelines = Array.from({ length: repos }, (_, i) => benchPipeline(env.stack, `tp-w${i}`));
    const directPipelines = Array.from({ length: repos }, (_, i) => benchPipeline(env.stack, `tp-d${i}`));
    const pachd = env.stack.pachd.url;
    // The watcher's cascade for every pipeline (SubscribeCommit on its output branch → requestDeploy).
    const warmW = benchPipeline(env.stack, 'tp-warm-w');
    const cascades = new Map<string, Cascade>([...orchPipelines, warmW].map((p) => [p.name, new Cascade(pachd, env.client, taskQueue, p)]));
    env.onClose(async () => void (await Promise.all([...cascades.values()].map((c) => c.close()))));
    const commitAll = (ps: PipelineSpec[], round: number) =>
      Promise.all(ps.map((p) => putFiles(pachd, p.input.repo, p.input.branch, smallBatch(round))));

    // Warm-up, not counted: one pipeline each way (workflow code loaded, connections and git cache made).
    const warmD = benchPipeline(env.stack, 'tp-warm-d');
    await runOrchestrated(env.client, taskQueue, warmW, cascades.get(warmW.name)!, await putFiles(pachd, warmW.input.repo, warmW.input.branch, smallBatch(0)));
    await direct.run(warmD, await putFiles(pachd, warmD.input.repo, warmD.input.branch, smallBatch(0)));

    // RSS sampled every 50 ms from here on (after start-up and warm-up).
    const workerRss = new RssSampler(worker.pid);
    const directRss = new RssSampler(direct.pid);
    const idleWorkerMiB = workerRss.samples[0];
    const idleDirectMiB = directRss.samples[0];
    const pids = { 'dev server': findPid(env.dbFile), worker: worker.pid, 'emulators (benchmark process)': process.pid, baseline: direct.pid };
    const results: Round[] = [];
    const runWorkflows = async (round: number) => {
      const commits = await commitAll(orchPipelines, round);
      const cpu = cpuMeter(pids);
      const t0 = Date.now();
      const runs: OrchestratedRun[] = await Promise.all(
        orchPipelines.map((p, i) => runOrchestrated(env.client, taskQueue, p, cascades.get(p.name)!, commits[i], { timeoutMs: 600_000, pollMs: 1000 })),
      );
      // From the first signal to the last deployment's close, by the server's clock (the 1 s poll adds nothing).
      const seconds = (Math.max(...runs.map((r) => r.startedAt + r.doneMs)) - t0) / 1000;
      results.push({ mode: 'workflows', round, seconds, latenciesMs: runs.map((r) => r.doneMs), cpu: cpu() });
    };
    const runDirect = async (round: number) => {
      const commits = await commitAll(directPipelines, round);
      const cpu = cpuMeter(pids);
      const t0 = Date.now();
      const runs: DirectRun[] = await Promise.all(directPipelines.map((p, i) => direct.run(p, commits[i])));
      results.push({ mode: 'direct', round, seconds: (Date.now() - t0) / 1000, latenciesMs: runs.map((r) => r.totalMs), cpu: cpu(), retries: runs.reduce((a, r) => a + r.retries, 0) });
    };
    for (let round = 0; round < rounds; round++) {
      for (const run of round % 2 === 0 ? [runWorkflows, runDirect] : [runDirect, runWorkflows]) {
        await run(round);
        const r = results.at(-1)!;
        console.log(`round ${round + 1} ${r.mode}: ${repos} pipelines in ${r.seconds.toFixed(1)} s (${fmt((repos / r.seconds) * 60, 0)}/min)`);
      }
    }
    const w = workerRss.stop();
    const d = directRss.stop();

    const summary = (mode: Round['mode']) => {
      const rs = results.filter((r) => r.mode === mode);
      const seconds = rs.reduce((a, r) => a + r.seconds, 0);
      const lat = rs.flatMap((r) => r.latenciesMs);
      const cpu = Object.keys(pids).map((k) => `${k} ${fmt(rs.reduce((a, r) => a + r.cpu[k], 0) / seconds, 2)}`).join(', ');
      return { perMin: ((repos * rs.length) / seconds) * 60, seconds, median: median(lat), p95: quantile(lat, 0.95), rounds: rs, cpu };
    };
    const sw = summary('workflows');
    const sd = summary('direct');
    const loadAfter = loadAverage();
    const report = [
      '## Throughput: one worker, many repositories',
      '',
      `Command: \`${process.env.CT_BENCH_DB_DIR ? `CT_BENCH_DB_DIR=${process.env.CT_BENCH_DB_DIR} ` : ''}npx tsx bench/throughput.ts ${repos} ${rounds}\`. ${machineLine(m, loadBefore, loadAfter)}`,
      '',
      `${repos} pipelines (distinct input and output repos, models and deployment names), each receiving one commit at the same moment,`,
      `${rounds} rounds (round 1 trains from scratch and creates the deployments; later rounds continue from the registered version and`,
      `replace them). Each commit: signal-with-start (client/signals.ts) → training → cascade (as the watcher does it:`,
      `SubscribeCommit on the output branch → requestDeploy) → deployment Available → detectors. Simulated emulators with every delay 0; one worker (worker/main.ts, default worker options)`,
      `in a child process on this ${m.cores}-CPU machine, which it shares with the dev server, the emulators (in the benchmark process)`,
      `and the baseline. Baseline: the same pipelines run concurrently by a plain script calling the activity functions directly.`,
      '',
      '| run | pipelines | seconds | pipelines per minute | latency median (ms) | latency p95 (ms) | process RSS after warm-up → peak → end (MiB) |',
      '|---|---|---|---|---|---|---|',
      `| one worker (workflows) | ${repos * sw.rounds.length} | ${sw.seconds.toFixed(1)} | **${fmt(sw.perMin)}** | ${fmt(sw.median)} | ${fmt(sw.p95)} | ${fmt(idleWorkerMiB)} → ${fmt(w.peakMiB)} → ${fmt(w.endMiB)} |`,
      `| direct calls (baseline) | ${repos * sd.rounds.length} | ${sd.seconds.toFixed(1)} | ${fmt(sd.perMin)} | ${fmt(sd.median)} | ${fmt(sd.p95)} | ${fmt(idleDirectMiB)} → ${fmt(d.peakMiB)} → ${fmt(d.endMiB)} |`,
      '',
      `- Workflows vs direct: ${fmt(sw.perMin / sd.perMin, 2)}× the baseline's throughput; the worker's peak RSS is ${fmt(w.peakMiB - idleWorkerMiB)} MiB over`,
      `  its RSS after the warm-up (${fmt(d.peakMiB - idleDirectMiB)} MiB for the baseline process). Kernel high-water marks, start-up included`,
      `  (the worker bundles the workflow code with webpack when it starts): worker ${fmt(w.hwmMiB)} MiB, baseline ${fmt(d.hwmMiB)} MiB.`,
      `- CPU used, in cores on average over the runs (of ${m.cores}): workflows: ${sw.cpu}; direct: ${sd.cpu}.`,
      ...(emulatorStreamErrors.length
        ? [`- ${emulatorStreamErrors.length} checkpoint download(s) were dropped by the client and retried (the emulator's archive stream error, see bench/lib/harness.ts).`]
        : []),
      `- Baseline calls retried after a transient failure (e.g. ECONNRESET on a reused keep-alive socket; 1 s backoff, like the`,
      `  workflows' retry policy): ${results.reduce((a, r) => a + (r.retries ?? 0), 0)}.`,
      `- By round (seconds): ${results.map((r) => `${r.mode} round ${r.round + 1} ${r.seconds.toFixed(1)}`).join(', ')}.`,
    ].join('\n');
    console.log(`\n${report}\n`);
    writeSection('throughput', report);
  } finally {
    await env.close();
  }
}

runMain(main);
