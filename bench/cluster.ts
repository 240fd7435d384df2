// Benchmark: the product on the Temporal cluster stack (the real server v1.32.2 on PostgreSQL, 4 history shards,
// one process per service; stack/temporal-cluster.ts) beside the dev server (`temporal server start-dev`, one shard
// on SQLite), in the same run, on the same zero-latency simulated emulators, with the real worker (worker/main.ts)
// in child processes. Baseline: the same activity functions called directly by a plain script (bench/lib/direct.ts).
//   1. Orchestration overhead per step: one commit at a time (training 7 steps + deployment 6), interleaved
//      dev / cluster / direct, medians; overhead per step = (workflows' signal → done − direct total) / 13.
//   2. Throughput: 50 repositories each receiving a commit at once: dev server with one worker, cluster with one
//      worker, cluster with two; pipelines per minute and the ratio to the direct baseline; CPU per process group.
//
//   npx tsx bench/cluster.ts [runs=10] [repos=50]      (writes its section of bench/RESULTS.md)
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { TEMPORAL_SERVER_VERSION, startTemporalCluster, type TemporalCluster } from '@continuous-training/stack/temporal-cluster';
import { startDirectChild, type DirectRun } from './lib/direct';
import { measureFloor, type Floor } from './lib/floor';
import { Cascade, runOrchestrated, type OrchestratedRun } from './lib/pipeline-run';
import {
  benchPipeline,
  cpuSeconds,
  deadline,
  findPid,
  fmt,
  loadAverage,
  machine,
  machineLine,
  median,
  quantile,
  runMain,
  smallBatch,
  startBenchEnv,
  startWorkerChild,
  workerEnv,
  writeSection,
  type WorkerChild,
} from './lib/harness';

const TARGET_MS_PER_STEP = 20;
const TARGET_THROUGHPUT_RATIO = 0.5;

/** CPU seconds of a process and its live descendants (PostgreSQL's backends are children of the postmaster). */
function treeCpuSeconds(root: number | undefined): number {
  if (!root) return NaN;
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    total += cpuSeconds(pid) + childrenCpu(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** CPU of a process's exited, reaped children (cutime + cstime). */
function childrenCpu(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

/** Named groups of processes: `tree` counts each process with its descendants (PostgreSQL's backends), else itself only. */
type Groups = Record<string, { pids: () => number[]; tree?: true }>;
/** CPU seconds per named group of processes between start and the returned function's call. */
function groupMeter(groups: Groups): () => Record<string, number> {
  const read = () =>
    Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, g.pids().reduce((a, p) => a + (g.tree ? treeCpuSeconds(p) : cpuSeconds(p)), 0)]));
  const start = read();
  return () => {
    const end = read();
    return Object.fromEntries(Object.keys(groups).map((k) => [k, end[k]! - start[k]!]));
  };
}

interface Target {
  name: 'dev server' | 'cluster';
  address: string;
  client: Client;
  workers: WorkerChild[];
  taskQueue: string;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  const repos = Number(process.argv[3] ?? 50);
  const warmup = 2;
  const loadBefore = loadAverage();
  const m = machine();
  const env = await startBenchEnv({ name: 'cluster' });
  deadline(40 * 60_000, env.close);
  try {
    const cluster: TemporalCluster = await startTemporalCluster({ stateDir: path.join(env.tmp, 'temporal-cluster'), ui: false });
    env.onClose(() => cluster.close());
    const clusterConnection = await Connection.connect({ address: cluster.address });
    env.onClose(() => clusterConnection.close());
    const pachd = env.stack.pachd.url;
    const startWorker = async (address: string, taskQueue: string) => {
      const w = await startWorkerChild(workerEnv(env.stack.connections, address, taskQueue));
      env.onClose(() => w.stop());
      return w;
    };
    const dev: Target = { name: 'dev server', address: env.dev.address, client: env.client, workers: [], taskQueue: 'bench-dev' };
    const clu: Target = { name: 'cluster', address: cluster.address, client: new Client({ connection: clusterConnection }), workers: [], taskQueue: 'bench-cluster' };
    for (const t of [dev, clu]) t.workers.push(await startWorker(t.address, t.taskQueue));
    const direct = await startDirectChild(env.stack.connections);
    env.onClose(() => direct.stop());

    const devServerPid = findPid(env.dbFile);
    // The benchmark process (emulators, cascades, the runs' describe polls) started all the others: itself only.
    const groups: Groups = {
      'dev server': { pids: () => (devServerPid ? [devServerPid] : []) },
      'Temporal services': { pids: () => cluster.services.map((s) => s.pid()).filter((p): p is number => !!p) },
      PostgreSQL: { pids: () => [cluster.postgres.pid()].filter((p): p is number => !!p), tree: true },
      workers: { pids: () => [...dev.workers, ...clu.workers].map((w) => w.pid) },
      'emulators and benchmark (one process)': { pids: () => [process.pid] },
      baseline: { pids: () => [direct.pid] },
    };
    const cascades = new Map<string, Cascade>();
    const cascadeOf = (t: Target, p: PipelineSpec) => {
      let c = cascades.get(p.name);
      if (!c) {
        c = new Cascade(pachd, t.client, t.taskQueue, p);
        cascades.set(p.name, c);
      }
      return c;
    };
    env.onClose(async () => void (await Promise.all([...cascades.values()].map((c) => c.close()))));

    // ---- 1. orchestration overhead, one commit at a time ----------------------------------------------
    const orch = { 'dev server': [] as OrchestratedRun[], cluster: [] as OrchestratedRun[] };
    const directRuns: DirectRun[] = [];
    const seqPipelines = { 'dev server': benchPipeline(env.stack, 'cl-seq-dev'), cluster: benchPipeline(env.stack, 'cl-seq-cluster') };
    const directSeq = benchPipeline(env.stack, 'cl-seq-direct');
    for (let i = 0; i < warmup + runs; i++) {
      const order = [
        async () => {
          const commit = await putFiles(pachd, directSeq.input.repo, directSeq.input.branch, smallBatch(i));
          const r = await direct.run(directSeq, commit);
          if (i >= warmup) directRuns.push(r);
        },
        ...[dev, clu].map((t) => async () => {
          const p = seqPipelines[t.name];
          const commit = await putFiles(pachd, p.input.repo, p.input.branch, smallBatch(i));
          const r = await runOrchestrated(t.client, t.taskQueue, p, cascadeOf(t, p), commit);
          if (i >= warmup) orch[t.name].push(r);
        }),
      ];
      // Rotate which goes first, so load changes hit all three alike.
      for (let k = 0; k < order.length; k++) await order[(i + k) % order.length]!();
      console.log(`${i < warmup ? 'warm-up' : 'run'} ${i + 1}: dev ${orch['dev server'].at(-1)?.doneMs ?? '-'} ms, cluster ${orch.cluster.at(-1)?.doneMs ?? '-'} ms, direct ${fmt(directRuns.at(-1)?.totalMs ?? NaN)} ms`);
    }
    const stepNames = directRuns[0]!.steps.map((s) => s.name);
    const directTotal = median(directRuns.map((r) => r.totalMs));
    const stepMedian = (rs: { steps: { name: string; ms: number }[] }[], name: string) => median(rs.map((r) => r.steps.find((s) => s.name === name)?.ms ?? NaN));
    const perStep = (t: Target['name']) => (median(orch[t].map((r) => r.doneMs)) - directTotal) / stepNames.length;
    // wait-ready's time in the workflows is mostly the deployment workflow's own 2 s poll interval (the first read
    // after a replace shows the status from before it), not orchestration: the mean over the other steps.
    const POLLING_STEP = 'wait-ready';
    const otherSteps = stepNames.filter((n) => n !== POLLING_STEP);
    const meanOverhead = (t: Target['name'], names: string[]) => names.reduce((a, n) => a + stepMedian(orch[t], n) - stepMedian(directRuns, n), 0) / names.length;
    const perStepExclPoll = (t: Target['name']) => meanOverhead(t, otherSteps);
    // The local activities (product/workflows/activities.ts, quickLocal) run inside a workflow task: no activity
    // task, no round trip of their own. The others are what Temporal's floor below measures.
    const LOCAL_STEPS = ['lookup-model', 'read-model-info', 'read-deployed'];
    const activitySteps = otherSteps.filter((n) => !LOCAL_STEPS.includes(n));
    const worst = (t: Target['name']) =>
      stepNames.map((n) => ({ n, o: stepMedian(orch[t], n) - stepMedian(directRuns, n) })).reduce((a, b) => (b.o > a.o ? b : a));

    // Temporal's own floor per step on each server: no-op activities in sequence, nothing of the product.
    const floor = {} as Record<Target['name'], Floor>;
    for (const t of [dev, clu]) {
      floor[t.name] = await measureFloor(t.address, `${t.taskQueue}-floor`);
      console.log(`${t.name}: Temporal's floor ${fmt(floor[t.name].msPerStep, 1)} ms per step`);
    }

    // ---- 2. throughput: `repos` pipelines at once -------------------------------------------------------
    interface Burst { label: string; seconds: number; latencies: number[]; cpu: Record<string, number> }
    const bursts: Burst[] = [];
    const burst = async (label: string, t: Target | null, round: number) => {
      const ps = Array.from({ length: repos }, (_, i) => benchPipeline(env.stack, `cl-tp-${label.replace(/\W+/g, '')}-${i}`));
      // Round 0 of each set warms its pipelines up (creates repos, models, deployments); only round 1 is measured.
      const commits = await Promise.all(ps.map((p) => putFiles(pachd, p.input.repo, p.input.branch, smallBatch(round))));
      const cpu = groupMeter(groups);
      const t0 = Date.now();
      let latencies: number[];
      if (t) {
        const rs = await Promise.all(
          ps.map((p, i) =>
            runOrchestrated(t.client, t.taskQueue, p, cascadeOf(t, p), commits[i]!, { timeoutMs: 900_000, pollMs: 1000 }).catch((err: Error) => {
              // Said at once: closing the env afterwards makes other pending calls fail with less telling errors.
              console.error(`${label}: pipeline ${p.name} failed: ${err.stack ?? err.message}`);
              throw err;
            }),
          ),
        );
        latencies = rs.map((r) => r.doneMs);
        const seconds = (Math.max(...rs.map((r) => r.startedAt + r.doneMs)) - t0) / 1000;
        bursts.push({ label, seconds, latencies, cpu: cpu() });
      } else {
        const rs = await Promise.all(ps.map((p, i) => direct.run(p, commits[i]!)));
        bursts.push({ label, seconds: (Date.now() - t0) / 1000, latencies: rs.map((r) => r.totalMs), cpu: cpu() });
      }
      const b = bursts.at(-1)!;
      console.log(`${label}: ${repos} pipelines in ${b.seconds.toFixed(1)} s (${fmt((repos / b.seconds) * 60)}/min)`);
    };
    // Each configuration: the same `repos` pipelines twice at once — round 1 trains from scratch and creates the
    // deployments, round 2 (the one reported) continues from the registered versions and replaces them.
    const measure = async (label: string, t: Target | null) => {
      await burst(`${label} (round 1)`, t, 1);
      bursts.pop();
      await burst(label, t, 2);
    };
    await measure('direct calls (baseline)', null);
    await measure('dev server, 1 worker', dev);
    await measure('cluster, 1 worker', clu);
    clu.workers.push(await startWorker(clu.address, clu.taskQueue));
    await measure('cluster, 2 workers', clu);

    const baseline = bursts.find((b) => b.label.startsWith('direct'))!;
    const perMin = (b: Burst) => (repos / b.seconds) * 60;
    const cores = (b: Burst) => Object.entries(b.cpu).filter(([, v]) => v > 0.05).map(([k, v]) => `${k} ${fmt(v / b.seconds, 2)}`).join(', ');
    const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
    const loadAfter = loadAverage();
    const pg = cluster.postgres.settings;
    const report = [
      '## The Temporal cluster (PostgreSQL) beside the dev server',
      '',
      `Command: \`npx tsx bench/cluster.ts ${runs} ${repos}\`. ${machineLine(m, loadBefore, loadAfter)}`,
      '',
      `Cluster: the real Temporal server ${TEMPORAL_SERVER_VERSION} built by scripts/temporal-cluster.sh, configuration`,
      `deploy/temporal/config/temporal-server.yaml (the compose stack's), **${cluster.historyShards} history shards**, service layout **${cluster.layout}**`,
      `(${cluster.services.map((s) => s.name).join(', ')}: one process each), persistence and advanced visibility on one PostgreSQL 15`,
      `(loopback, \`${Object.entries(pg).map(([k, v]) => `${k}=${v}`).join(' ')}\`, the rest Debian's defaults), dynamic config`,
      `deploy/temporal/dynamicconfig/development-sql.yaml (queue readers at 200 polls/s per shard, one partition per task queue).`,
      `Dev server: \`temporal server start-dev\` (1 shard, SQLite in a temp dir, no dynamic config). Both on this machine, with`,
      `the simulated emulators (every delay 0) in the benchmark process and the real worker (worker/main.ts) in child processes.`,
      '',
      `### Orchestration overhead (one commit at a time, medians of ${runs} runs each after ${warmup} warm-ups, interleaved)`,
      '',
      `| | signal → deployment done (ms) | p10–p90 (ms) | total overhead over direct, per step (ms) | overhead per step, ${POLLING_STEP} aside (ms) | Temporal's floor per step (ms) | worst step (overhead, ms) |`,
      '|---|---|---|---|---|---|---|',
      ...(['dev server', 'cluster'] as const).map((t) => {
        const done = orch[t].map((r) => r.doneMs);
        const w = worst(t);
        return `| ${t} | ${fmt(median(done))} | ${fmt(quantile(done, 0.1))}–${fmt(quantile(done, 0.9))} | ${fmt(perStep(t), 1)} | **${fmt(perStepExclPoll(t), 1)}** | ${fmt(floor[t].msPerStep, 1)} | ${w.n} (${fmt(w.o, 1)}) |`;
      }),
      `| direct calls (baseline) | ${fmt(directTotal, 1)} | ${fmt(quantile(directRuns.map((r) => r.totalMs), 0.1))}–${fmt(quantile(directRuns.map((r) => r.totalMs), 0.9))} | | | | |`,
      '',
      `- Per step (${stepNames.length} steps), workflow step time on the dev server / on the cluster / direct call (ms): ` +
        stepNames.map((n) => `${n} ${fmt(stepMedian(orch['dev server'], n))} / ${fmt(stepMedian(orch.cluster, n))} / ${fmt(stepMedian(directRuns, n), 1)}`).join('; ') + '.',
      `- ${POLLING_STEP} in the workflows is mostly the deployment workflow's own 2 s readiness poll interval (after a replace the first read`,
      `  still shows the status from before it; the direct baseline's rollout is read once, Available): that is the product's pacing, not`,
      `  Temporal's, so the per-step overhead is the mean over the other ${otherSteps.length} steps of (workflow step − direct call); concurrent steps count each.`,
      `- Temporal's floor: a workflow awaiting ${floor.cluster.steps} no-op activities one after another, run by a worker with the SDK's default options on`,
      `  the same server (median of ${floor.cluster.runs.length} chains after ${floor.cluster.warmup} warm-ups, between the two parts of this benchmark): what one activity step costs`,
      `  on this machine with nothing of the product in it (the workflow task that schedules it, the activity task and its report, the`,
      `  next workflow task). Against it, the mean overhead of the product's ${activitySteps.length} activity steps (${LOCAL_STEPS.join(', ')} are local`,
      `  activities, inside a workflow task): dev server ${fmt(meanOverhead('dev server', activitySteps), 1)} ms (floor ${fmt(floor['dev server'].msPerStep, 1)}),` +
        ` cluster ${fmt(meanOverhead('cluster', activitySteps), 1)} ms (floor ${fmt(floor.cluster.msPerStep, 1)}).`,
      `- Target below ${TARGET_MS_PER_STEP} ms per step on the cluster: ${verdict(perStepExclPoll('cluster') < TARGET_MS_PER_STEP)} (${fmt(perStepExclPoll('cluster'), 1)} ms; dev server ${fmt(perStepExclPoll('dev server'), 1)} ms)` +
        (floor.cluster.msPerStep >= TARGET_MS_PER_STEP ? `; Temporal's floor alone is ${fmt(floor.cluster.msPerStep, 1)} ms on this machine, so no workflow step can meet it here.` : '.'),
      '',
      `### Throughput (${repos} repositories, a commit each at the same moment; the second round of each, continuing from version 1)`,
      '',
      '| run | seconds | pipelines per minute | ratio to direct | latency median / p95 (ms) | CPU, cores on average (of ' + m.cores + ') |',
      '|---|---|---|---|---|---|',
      ...bursts.map((b) => `| ${b.label} | ${b.seconds.toFixed(1)} | **${fmt(perMin(b))}** | ${fmt(perMin(b) / perMin(baseline), 2)}× | ${fmt(median(b.latencies))} / ${fmt(quantile(b.latencies, 0.95))} | ${cores(b)} |`),
      '',
      `- Target at least ${TARGET_THROUGHPUT_RATIO}× the direct baseline: ` +
        bursts.filter((b) => b !== baseline).map((b) => `${b.label} ${verdict(perMin(b) / perMin(baseline) >= TARGET_THROUGHPUT_RATIO)} (${fmt(perMin(b) / perMin(baseline), 2)}×)`).join('; ') + '.',
    ].join('\n');
    console.log(`\n${report}\n`);
    writeSection('cluster', report);
  } finally {
    await env.close();
  }
}

runMain(main);
