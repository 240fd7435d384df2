// Benchmark: recovery of the experiment wait after a worker crash. Two workers (worker/main.ts, child
// processes) serve the task queue; a commit starts a training whose experiment stays RUNNING (the
// Determined emulator's HANG outcome). Once waitForExperiment is polling, the worker running it (found by
// its identity, pid@host) gets SIGKILL; we measure from the kill to the next poll of the experiment's
// route, as the Determined emulator's request log shows it, and read the activity's new attempt from
// the server. Then the experiment is released and the training must complete with that one experiment.
//
//   npx tsx bench/recovery.ts [pollInterval=1s]      (writes its section of bench/RESULTS.md)
import { Writable } from 'node:stream';
import axios from 'axios';
import type { temporal } from '@temporalio/proto';
import { putFiles } from '@continuous-training/emulators/pachyderm';
import { triggerCommit } from 'continuous-training/client/signals';
import { trainingWorkflowId } from 'continuous-training/common/ids';
import type { TrainingResult } from 'continuous-training/workflows/training';
import { benchPipeline, deadline, fmt, loadAverage, machine, machineLine, runMain, sleep, smallBatch, startBenchEnv, startWorkerChild, workerEnv, writeSection, type WorkerChild } from './lib/harness';

const HEARTBEAT_TIMEOUT_MS = 20_000; // workflows/activities.ts, experimentWaiter (pollInterval 1s)
const TARGET_MS = HEARTBEAT_TIMEOUT_MS + 2_000;

interface Poll {
  at: number;
  experimentId: number;
}

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : NaN;

async function main(): Promise<void> {
  const pollInterval = process.argv[2] ?? '1s';
  const loadBefore = loadAverage();
  const m = machine();
  const polls: Poll[] = [];
  let pending = '';
  const log = new Writable({
    write(chunk: Buffer, _enc, cb) {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const e = JSON.parse(line) as { ts: string; emulator: string; method: string; path: string };
          const hit = /^\/api\/v1\/experiments\/(\d+)$/.exec(e.path);
          if (e.method === 'GET' && hit) polls.push({ at: Date.parse(e.ts), experimentId: Number(hit[1]) });
        } catch {
          // not a request log line
        }
      }
      cb();
    },
  });
  const env = await startBenchEnv({ name: 'recovery', log, determinedDelays: { queuedMs: 0, pullingMs: 0, startingMs: 0, runningMs: 0 } });
  const workers: WorkerChild[] = [];
  env.onClose(async () => void (await Promise.all(workers.map((w) => w.stop(2000)))));
  deadline(6 * 60_000, env.close);
  try {
    const det = env.stack.determined.url;
    // Every run stays RUNNING until the rules change.
    await axios.put(`${det}/__emulator/outcomes`, { rules: [{ name: '.*', outcome: 'HANG' }] });
    const taskQueue = 'bench-recovery';
    const wenv = workerEnv(env.stack.connections, env.dev.address, taskQueue);
    workers.push(...(await Promise.all([startWorkerChild(wenv), startWorkerChild(wenv)])));
    const pipeline = benchPipeline(env.stack, 'recovery', pollInterval);
    const commit = await putFiles(env.stack.pachd.url, pipeline.input.repo, pipeline.input.branch, smallBatch(0));
    await triggerCommit(env.client, taskQueue, pipeline, commit);
    const training = env.client.workflow.getHandle(trainingWorkflowId(pipeline.modelName, commit));

    // Wait until the wait is polling, and find out which worker runs it.
    const waitAct = async (pred: (a: PendingActivity) => boolean, timeoutMs: number): Promise<PendingActivity> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        try {
          const d = await training.describe();
          const a = d.raw.pendingActivities?.find((p) => p.activityType?.name === 'waitForExperiment');
          if (a && pred(a)) return a;
        } catch (err) {
          if (!/not found/i.test(String(err))) throw err;
        }
        if (Date.now() > until) throw new Error('the experiment wait did not reach the expected state in time');
        await sleep(50);
      }
    };
    const first = await waitAct((a) => !!a.lastWorkerIdentity && Number(a.attempt) === 1 && !!a.lastStartedTime, 60_000);
    const experimentId = polls.at(-1)?.experimentId;
    if (experimentId === undefined) throw new Error('no poll of an experiment seen');
    // Let it poll a few times, so the last heartbeat is a throttled one as in a long wait.
    await sleep(7_000);
    const before = await waitAct(() => true, 5_000);
    const victimPid = Number(/^(\d+)@/.exec(first.lastWorkerIdentity ?? '')?.[1]);
    const victim = workers.find((w) => w.pid === victimPid);
    const survivor = workers.find((w) => w.pid !== victimPid);
    if (!victim || !survivor) throw new Error(`the activity runs on ${first.lastWorkerIdentity}, not one of our workers`);
    const pollsBefore = polls.filter((p) => p.experimentId === experimentId).length;
    const lastPollBeforeKill = polls.filter((p) => p.experimentId === experimentId).at(-1)!.at;
    const killedAt = Date.now();
    victim.proc.kill('SIGKILL');
    console.log(`killed worker ${victimPid} (running attempt 1 of waitForExperiment, ${pollsBefore} polls so far); waiting for another worker to poll experiment ${experimentId}…`);

    const until = killedAt + 3 * 60_000;
    let resumedPoll: Poll | undefined;
    while (!(resumedPoll = polls.find((p) => p.experimentId === experimentId && p.at > killedAt + 5)) && Date.now() < until) await sleep(20);
    if (!resumedPoll) throw new Error('no worker resumed the wait within 3 minutes');
    const resumedAfterMs = resumedPoll.at - killedAt;
    const second = await waitAct((a) => Number(a.attempt) >= 2 && !!a.lastStartedTime, 30_000);
    console.log(`next poll ${resumedAfterMs} ms after the kill, by ${second.lastWorkerIdentity} (attempt ${second.attempt})`);

    // Release the experiment: the training must complete with the one experiment it submitted.
    await axios.put(`${det}/__emulator/outcomes`, { rules: [] });
    const result = (await Promise.race([training.result(), sleep(60_000).then(() => null)])) as TrainingResult | null;
    if (!result || result.status !== 'trained') throw new Error(`the training did not complete after the release: ${JSON.stringify(result)}`);
    const login = await axios.post<{ token: string }>(`${det}/api/v1/auth/login`, { username: 'determined', password: env.stack.connections.determined.password });
    const list = await axios.get<{ experiments: unknown[] }>(`${det}/api/v1/experiments`, { headers: { authorization: `Bearer ${login.data.token}` } });

    const lastHeartbeat = ms(before.lastHeartbeatTime);
    const restarted = ms(second.lastStartedTime);
    const loadAfter = loadAverage();
    const report = [
      '## Recovery: a worker killed during the experiment wait',
      '',
      `Command: \`npx tsx bench/recovery.ts ${pollInterval}\`. ${machineLine(m, loadBefore, loadAfter)}`,
      '',
      `Two workers (worker/main.ts, child processes) on one task queue; a training whose experiment stays RUNNING (simulated Determined,`,
      `HANG outcome); waitForExperiment polls every ${pollInterval} and heartbeats (heartbeatTimeout 1m, retry initialInterval 1s,`,
      `maxHeartbeatThrottleInterval 5s). The worker running the wait (found by its identity in the pending activity) gets SIGKILL; the`,
      `time is measured from the kill to the next \`GET /api/v1/experiments/${experimentId}\` in the Determined emulator's request log.`,
      '',
      '| measure | ms |',
      '|---|---|',
      `| last poll before the kill → kill | ${fmt(killedAt - lastPollBeforeKill)} |`,
      `| last heartbeat the server recorded → kill | ${fmt(killedAt - lastHeartbeat)} |`,
      `| **kill → next poll of the experiment, by the other worker** | **${fmt(resumedAfterMs)}** |`,
      `| kill → attempt ${second.attempt} started (server's lastStartedTime) | ${fmt(restarted - killedAt)} |`,
      `| last recorded heartbeat → attempt ${second.attempt} started | ${fmt(restarted - lastHeartbeat)} |`,
      '',
      `- Target (heartbeat timeout + 2 s = ${TARGET_MS / 1000} s): ${resumedAfterMs <= TARGET_MS ? 'met' : `missed by ${fmt(resumedAfterMs - TARGET_MS)} ms`}; ` +
        `ratio to the heartbeat timeout ${fmt(resumedAfterMs / HEARTBEAT_TIMEOUT_MS, 2)}×.`,
      `- The new attempt resumed the wait from the heartbeat details: after the release the training completed (model version`,
      `  ${result.modelVersion.version}, experiment ${result.experimentId}) and Determined holds ${list.data.experiments.length} experiment(s), none submitted again.`,
      `- The server only notices the dead worker when the heartbeat timeout expires, counted from the last heartbeat it recorded`,
      `  (heartbeats are throttled, so up to 5 s before the kill), then waits the retry's initial interval (1 s) before the next attempt.`,
    ].join('\n');
    console.log(`\n${report}\n`);
    writeSection('recovery', report);
  } finally {
    await env.close();
  }
}

runMain(main);
