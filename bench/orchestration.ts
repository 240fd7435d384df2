// Benchmark: orchestration overhead. One commit → signal-with-start → training workflow (7 activities)
// → cascade → deployment workflow (6 activities) → deployment Available, on zero-latency emulators
// (simulated mode, every delay 0), with the real worker (worker/main.ts) as a child process. Baseline,
// measured in the same run and interleaved with it: the same activity functions called directly in the
// same order by a plain script (also a child process), no Temporal. Reports each step's time both ways
// (workflow steps from the status query's steps[].durationMs) and the totals, medians over the runs.
// The workflows run lookupModel, readModelInfo and getDeployedModel as local activities, and two pairs of
// independent steps concurrently; the baseline keeps making the 13 calls one after the other.
//
//   npx tsx bench/orchestration.ts [runs=20] [warmup=2]      (writes its section of bench/RESULTS.md)
import fs from 'node:fs';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { startDirectChild, type DirectRun } from './lib/direct';
import { Cascade, runOrchestrated, stepsUnionMs, type OrchestratedRun } from './lib/pipeline-run';
import {
  benchPipeline,
  cpuMeter,
  findPid,
  deadline,
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
} from './lib/harness';

const TARGET_MS_PER_STEP = 50;

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 20);
  const warmup = Number(process.argv[3] ?? 2);
  const loadBefore = loadAverage();
  const m = machine();
  const env = await startBenchEnv({ name: 'orchestration' });
  deadline(15 * 60_000, env.close);
  try {
    const taskQueue = 'bench-orchestration';
    const worker = await startWorkerChild(workerEnv(env.stack.connections, env.dev.address, taskQueue));
    env.onClose(() => worker.stop());
    const direct = await startDirectChild(env.stack.connections);
    env.onClose(() => direct.stop());
    const orchPipeline = benchPipeline(env.stack, 'orch');
    const directPipeline = benchPipeline(env.stack, 'direct');
    const pachd = env.stack.pachd.url;
    const cascade = new Cascade(pachd, env.client, taskQueue, orchPipeline);
    env.onClose(() => cascade.close());

    const pids = { 'dev server': findPid(env.dbFile), worker: worker.pid, 'emulators (benchmark process)': process.pid, baseline: direct.pid };
    const cpuTotals = { workflows: {} as Record<string, number>, direct: {} as Record<string, number> };
    const wallTotals = { workflows: 0, direct: 0 };
    const metered = async <T>(mode: 'workflows' | 'direct', measured: boolean, fn: () => Promise<T>): Promise<T> => {
      const cpu = cpuMeter(pids);
      const t = Date.now();
      const r = await fn();
      if (measured) {
        for (const [k, v] of Object.entries(cpu())) cpuTotals[mode][k] = (cpuTotals[mode][k] ?? 0) + v;
        wallTotals[mode] += (Date.now() - t) / 1000;
      }
      return r;
    };
    const orchestrated: OrchestratedRun[] = [];
    const directRuns: DirectRun[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      // Interleaved, alternating which goes first, so load changes hit both alike.
      const doOrch = async () => {
        const commit = await putFiles(pachd, orchPipeline.input.repo, orchPipeline.input.branch, smallBatch(i));
        const r = await metered('workflows', i >= warmup, () => runOrchestrated(env.client, taskQueue, orchPipeline, cascade, commit, { withPhases: true }));
        if (i >= warmup) orchestrated.push(r);
        return r;
      };
      const doDirect = async () => {
        const commit = await putFiles(pachd, directPipeline.input.repo, directPipeline.input.branch, smallBatch(i));
        const r = await metered('direct', i >= warmup, () => direct.run(directPipeline, commit));
        if (i >= warmup) directRuns.push(r);
        return r;
      };
      let o: OrchestratedRun;
      let d: DirectRun;
      if (i % 2 === 0) {
        o = await doOrch();
        d = await doDirect();
      } else {
        d = await doDirect();
        o = await doOrch();
      }
      console.log(`${i < warmup ? 'warm-up' : 'run'} ${i + 1 - (i < warmup ? 0 : warmup)}: workflows ${o.doneMs} ms (Available at ${fmt(o.availableMs)} ms), direct ${fmt(d.totalMs)} ms`);
    }

    if (process.env.CT_BENCH_DUMP) fs.writeFileSync(process.env.CT_BENCH_DUMP, JSON.stringify({ orchestrated, directRuns }, null, 1));
    // Per step: medians both ways.
    const names = directRuns[0].steps.map((s) => s.name);
    const phases = orchestrated.flatMap((r) => r.phases);
    // The same phases by step: each step's activities in order (the experiment wait may take several).
    const STEP_ACTIVITY: Record<string, string> = {
      'lookup-model': 'lookupModel', 'diff-commit': 'diffCommit', 'fetch-experiment': 'fetchExperiment', 'submit-experiment': 'submitExperiment',
      'wait-experiment': 'waitForExperiment', 'register-version': 'registerModelVersion', 'publish-model': 'publishModel',
      'read-model-info': 'readModelInfo', 'read-deployed': 'getDeployedModel', deploy: 'deployModel', 'wait-ready': 'waitForDeploymentReady',
      'drift-detector': 'replaceDetector', 'outlier-detector': 'replaceDetector',
    };
    const byStep = new Map<string, { scheduleTask: number[]; dispatch: number[]; execute: number[]; resume: number[] }>();
    for (const r of orchestrated) {
      let k = 0;
      for (const name of names) {
        const acc = byStep.get(name) ?? { scheduleTask: [], dispatch: [], execute: [], resume: [] };
        byStep.set(name, acc);
        const sum = { scheduleTask: 0, dispatch: 0, execute: 0, resume: 0 };
        let seen = 0;
        while (k < r.phases.length && r.phases[k].activity === STEP_ACTIVITY[name] && (seen === 0 || name === 'wait-experiment')) {
          for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += r.phases[k][key];
          k++;
          seen++;
        }
        if (seen) for (const key of Object.keys(sum) as (keyof typeof sum)[]) acc[key].push(sum[key]);
      }
    }
    const phase = (k: Exclude<keyof (typeof phases)[number], 'activity' | 'sticky'>) => fmt(median(phases.map((p) => p[k])), 0);
    const stepMs = (rs: { steps: { name: string; ms: number }[] }[], name: string) => rs.map((r) => r.steps.find((s) => s.name === name)?.ms ?? NaN);
    const rows = names.map((name) => {
      const d = median(stepMs(directRuns, name));
      const w = median(stepMs(orchestrated, name));
      return { name, d, w, overhead: w - d };
    });
    const directTotal = median(directRuns.map((r) => r.totalMs));
    const directAvailable = median(directRuns.map((r) => r.steps.slice(0, r.steps.findIndex((s) => s.name === 'wait-ready') + 1).reduce((a, s) => a + s.ms, 0)));
    const orchDone = median(orchestrated.map((r) => r.doneMs));
    const orchAvailable = median(orchestrated.map((r) => r.availableMs));
    // Concurrent steps overlap: count the time covered by at least one step, once.
    const inSteps = median(orchestrated.map((r) => stepsUnionMs(r.steps)));
    const betweenSteps = median(orchestrated.map((r) => r.doneMs - stepsUnionMs(r.steps)));
    // Steps that overlapped another step in most runs, and what running them concurrently would save the baseline.
    const overlapping = names.filter(
      (name) =>
        orchestrated.filter((r) => {
          const s = r.steps.find((x) => x.name === name);
          return s && r.steps.some((o) => o !== s && o.startMs < s.endMs && s.startMs < o.endMs);
        }).length > orchestrated.length / 2,
    );
    const localSteps = names.filter((name) => !byStep.get(name)?.execute.length);
    const cascadeHop = median(orchestrated.map((r) => r.deploymentStartedMs - r.trainingClosedMs));
    const perStepTotal = (orchDone - directTotal) / names.length;
    // Pairs of overlapping steps (in step order): the baseline would save the shorter call of each.
    const directMs = (name: string) => median(stepMs(directRuns, name));
    let concurrencyGain = 0;
    for (let i = 0; i + 1 < overlapping.length; i += 2) concurrencyGain += Math.min(directMs(overlapping[i]), directMs(overlapping[i + 1]));
    const worstStep = rows.reduce((a, b) => (b.overhead > a.overhead ? b : a));

    const table = [
      '| step | direct call (ms) | workflow step (ms) | overhead (ms) | ratio | history: scheduling task / dispatch / execute / resume (ms) |',
      '|---|---|---|---|---|---|',
      ...rows.map((r) => {
        const p = byStep.get(r.name);
        const ph = p?.execute.length ? [p.scheduleTask, p.dispatch, p.execute, p.resume].map((xs) => fmt(median(xs))).join(' / ') : 'local activity: inside a workflow task';
        const name = overlapping.includes(r.name) ? `${r.name} (concurrent)` : r.name;
        return `| ${name} | ${fmt(r.d, 1)} | ${fmt(r.w, 0)} | ${fmt(r.overhead, 1)} | ${fmt(r.w / r.d, 1)}× | ${ph} |`;
      }),
      `| **signal → deployment Available** | ${fmt(directAvailable, 1)} | ${fmt(orchAvailable, 0)} | ${fmt(orchAvailable - directAvailable, 1)} | ${fmt(orchAvailable / directAvailable, 1)}× | |`,
      `| **signal → deployment done (detectors replaced)** | ${fmt(directTotal, 1)} | ${fmt(orchDone, 0)} | ${fmt(orchDone - directTotal, 1)} | ${fmt(orchDone / directTotal, 1)}× | |`,
    ];
    const cpuLine = (mode: 'workflows' | 'direct') =>
      Object.keys(pids).map((k) => `${k} ${fmt((cpuTotals[mode][k] / wallTotals[mode]) * 100, 0)}%`).join(', ');
    const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
    const loadAfter = loadAverage();
    const report = [
      '## Orchestration overhead',
      '',
      `Command: \`${process.env.CT_BENCH_DB_DIR ? `CT_BENCH_DB_DIR=${process.env.CT_BENCH_DB_DIR} ` : ''}npx tsx bench/orchestration.ts ${runs} ${warmup}\`. ${machineLine(m, loadBefore, loadAfter)}`,
      '',
      `A commit of 4 tiny files → signal-with-start (client/signals.ts) → repository workflow → training workflow → output commit → the`,
      `cascade as the watcher does it (SubscribeCommit on the output branch → requestDeploy) → deployer → deployment`,
      `workflow → Available → drift and outlier detectors. Simulated emulators with every delay 0, experiment pollInterval 10ms,`,
      `the real worker (worker/main.ts) in a child process, on a dev server (\`temporal server start-dev\`, SQLite in a temp dir).`,
      `Baseline, measured in the same run and interleaved with it: the same ${names.length} activity functions of`,
      `createActivities(connections) called directly in the workflows' order by a plain script (a child process too, each call in a`,
      `MockActivityEnvironment). Medians of ${runs} runs each, after ${warmup} warm-up runs. Workflow step times are`,
      `\`steps[].durationMs\` of the status queries: from the workflow task that schedules the activity to the one that sees its result;`,
      `for a local activity (${localSteps.join(', ') || 'none'}), from the workflow time the step starts to the completion time in its marker.`,
      `Steps marked concurrent run at the same time as another step in the workflows; the baseline still makes every call in sequence.`,
      '',
      ...table,
      '',
      `- Time spent in the workflows but outside any step (signal-with-start, workflow tasks between steps, child workflow starts,`,
      `  the cascade hop): median ${fmt(betweenSteps)} ms of ${fmt(orchDone)} ms; inside steps (overlaps counted once) ${fmt(inSteps)} ms. The cascade hop alone`,
      `  (training closed → output commit seen by SubscribeCommit → deployer → deployment workflow started) is ${fmt(cascadeHop)} ms.`,
      `  Nothing reads the running workflows (the benchmark waits with a describe() every 250 ms and takes every time from the server).`,
      `- Overhead per step: the worst step adds ${fmt(worstStep.overhead, 1)} ms (${worstStep.name}); the total overhead spread over the`,
      `  ${names.length} steps is ${fmt(perStepTotal, 1)} ms per step. Target under ${TARGET_MS_PER_STEP} ms per step: ` +
        `${verdict(worstStep.overhead < TARGET_MS_PER_STEP)} per step, ${verdict(perStepTotal < TARGET_MS_PER_STEP)} for the total spread over the steps.` +
        (overlapping.length
          ? ` Running the concurrent steps concurrently would save the baseline only ${fmt(concurrencyGain, 1)} ms (the shorter call of each pair).`
          : ''),
      `- Spread: workflows p10–p90 ${fmt(quantile(orchestrated.map((r) => r.doneMs), 0.1))}–${fmt(quantile(orchestrated.map((r) => r.doneMs), 0.9))} ms;` +
        ` direct ${fmt(quantile(directRuns.map((r) => r.totalMs), 0.1))}–${fmt(quantile(directRuns.map((r) => r.totalMs), 0.9))} ms.`,
    `- CPU while the runs were going (percent of one core, averaged over the wall time; the history reads are included on the workflow`,
    `  side): workflows: ${cpuLine('workflows')}; direct: ${cpuLine('direct')}.`,
    `- Where an activity step's time goes (medians over the ${phases.length} activities of the measured runs, from the histories' event times;`,
    `  local activities have no events of their own):`,
    `  workflow task that schedules it ${phase('scheduleTask')} ms, activity task scheduled → started on the worker ${phase('dispatch')} ms,`,
    `  started → completed (the call itself plus reporting) ${phase('execute')} ms, completed → next workflow task started ${phase('resume')} ms`,
    `  (${fmt((100 * phases.filter((p) => p.sticky).length) / phases.length)}% of those workflow tasks went to the worker's sticky queue).`,
    ].join('\n');
    console.log(`\n${report}\n`);
    writeSection('orchestration', report);
  } finally {
    await env.close();
  }
}

runMain(main);
