// The CLI as a user runs it: a separate process, exit codes scripts can rely on, --json output.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createLocalEnv } from '../helpers/temporal';
import { createFakeActivities, createFakeWorld } from '../helpers/fake-activities';
import { deploymentQueueWorkflowId, repositoryWorkflowId, trainingWorkflowId } from '../../common/ids';
import { deployerStatusQuery, deployerWorkflow, repositoryStatusQuery, trainingStatusQuery } from '../../workflows';
import { followRun } from '../../client/run-view';
import { sdkRunReader } from '../../client/sdk-run-reader';
import { makeStyle } from '../../client/render';
import { runUrl } from '../../client/ui-link';
import { deployerSpec } from '../../client/signals';
import { loadPipelinesConfig } from '../../client/pipelines-config';
import { putFiles, startPachydermEmulator, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { testWorkflowBundle } from '../helpers/workflow-bundle';
import { ctCommandLine } from '../helpers/product-build';

const root = path.join(__dirname, '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cli-'));
const config = path.join(dir, 'pipelines.yaml');
fs.writeFileSync(
  config,
  fs.readFileSync(path.join(root, '..', 'config', 'pipelines.example.yaml'), 'utf8').replace('pollInterval: 5s', 'pollInterval: 1s'),
);

/**
 * Runs the CLI (the compiled `ct` bin, as installed) asynchronously: the in-process worker of the test must keep running meanwhile. `live`
 * receives stdout as it comes (for a command that prints progress until it ends).
 */
function ct(args: string[], env: Record<string, string> = {}, live?: (chunk: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [node, cli] = ctCommandLine();
    const child = execFile(
      node,
      [cli, ...args],
      { encoding: 'utf8', env: { ...process.env, CT_TASK_QUEUE: 'cli-test', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.trim() }),
    );
    if (live) child.stdout?.on('data', (chunk: string) => live(chunk));
  });
}

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--help, a command\'s --help, --version, unknown commands and options (named, with the near one), missing options', async () => {
  expect(await ct(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Commands:') });
  const statusHelp = await ct(['status', '--help']);
  expect(statusHelp).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: ct status WORKFLOW_ID \[--follow\]/) });
  expect(statusHelp.stdout).not.toContain('Commands:');
  expect(await ct(['trigger', '-h'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: ct trigger --config F --pipeline P --commit ID \[--retry\] \[--wait\]/) });
  expect(await ct(['help', 'list'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: ct list /) });
  expect(await ct(['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  expect(await ct(['frobnicate'], { TEMPORAL_ADDRESS: '127.0.0.1:1' })).toMatchObject({ code: 2, stderr: 'error: unknown command "frobnicate" (see ct --help)' });
  expect(await ct(['list', '--pipline', 'shapes'])).toMatchObject({ code: 2, stderr: 'error: unknown option --pipline (did you mean --pipeline?) (see ct list --help)' });
  expect(await ct(['list', '--colour'])).toMatchObject({ code: 2, stderr: 'error: unknown option --colour (did you mean --no-color?) (see ct list --help)' });
  expect(await ct(['list', '--frobnicate'])).toMatchObject({ code: 2, stderr: 'error: unknown option --frobnicate (see ct list --help)' });
  expect(await ct(['status', 'x', '--config', config])).toMatchObject({ code: 2, stderr: 'error: ct status does not take --config (see ct status --help)' });
  expect(await ct(['trigger', '--pipeline', 'shapes'])).toMatchObject({ code: 2, stderr: 'error: --config is required' });
  expect(await ct(['trigger', '--config', config, '--pipeline', 'nope', '--commit', 'c'])).toMatchObject({
    code: 2,
    stderr: 'error: no pipeline named "nope" (known: shapes)',
  });
});

test('a bad pipelines file is one clear line and exit code 2', async () => {
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'pipelines:\n  - name: x\n');
  const r = await ct(['trigger', '--config', bad, '--pipeline', 'x', '--commit', 'c1'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(r.code).toBe(2);
  expect(r.stderr.split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^error: invalid pipelines config .*bad\.yaml: /);
  for (const field of ['input', 'experiment', 'output', 'deployment']) expect(r.stderr).toContain(`$.pipelines[0].${field}: required`);
});

test('Temporal unreachable: exit code 1 and one line naming the address and the variable or profile that set it', async () => {
  const r = await ct(['status', 'anything'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: cannot reach Temporal at 127\.0\.0\.1:1 \(from TEMPORAL_ADDRESS; no TLS\): /);
  expect(r.stderr.split('\n')).toHaveLength(1);
  const toml = path.join(dir, 'temporal.toml');
  fs.writeFileSync(toml, '[profile.lab]\naddress = "127.0.0.1:1"\n');
  const fromProfile = await ct(['list'], { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'lab', TEMPORAL_ADDRESS: '' });
  expect(fromProfile).toMatchObject({ code: 1, stderr: expect.stringMatching(new RegExp(`^error: cannot reach Temporal at 127\\.0\\.0\\.1:1 \\(from profile "lab" of ${toml}; no TLS\\): `)) });
});

describe('against a dev server', () => {
  let env: TestWorkflowEnvironment;
  // `ct trigger` checks with pachd that the commit is on the pipeline's branch.
  let pachd: PachydermEmulator;
  let commit: string;
  beforeAll(async () => {
    [env, pachd] = await Promise.all([createLocalEnv(), startPachydermEmulator({ stateDir: path.join(dir, 'pachd'), log: null })]);
    commit = await putFiles({ url: pachd.url }, 'shapes', 'master', { '/a.txt': 'a' });
  });
  afterAll(async () => {
    await env?.teardown();
    await pachd?.close();
  });

  test('trigger (with its answer), status, list, cancel, retry', async () => {
    const address = env.address;
    const world = createFakeWorld();
    world.holdExperiments = true;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'cli-test',
      ...testWorkflowBundle(),
      activities: createFakeActivities(world),
      maxHeartbeatThrottleInterval: '200ms', // cancellation arrives with the next heartbeat
    });
    await worker.runUntil(async () => {
      const trigger = await ct(['trigger', '--config', config, '--pipeline', 'shapes', '--commit', commit, '--json'], { TEMPORAL_ADDRESS: address, PACHD_URL: pachd.url });
      expect(trigger.code).toBe(0);
      const repoId = repositoryWorkflowId({ project: 'default', repo: 'shapes', branch: 'master' });
      const trainingId = trainingWorkflowId('shapes', commit);
      expect(JSON.parse(trigger.stdout)).toEqual({ workflowId: repoId, commit, status: 'accepted', position: 1, trainingWorkflowId: trainingId });
      const again = await ct(['trigger', '--config', config, '--pipeline', 'shapes', '--commit', commit], { TEMPORAL_ADDRESS: address, PACHD_URL: pachd.url });
      expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^${commit} → ct-repo-.*: already queued.*\ntraining run: ${trainingId}\n$`)) });
      const bad = await ct(['trigger', '--config', config, '--pipeline', 'shapes', '--commit', 'not/a-commit', '--json'], { TEMPORAL_ADDRESS: address, PACHD_URL: pachd.url });
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.stdout)).toMatchObject({ status: 'rejected', reason: expect.stringContaining('is not a commit id') });

      let status: { state: string; status: { step: string | null; experiment: unknown } } | undefined;
      for (let i = 0; i < 100; i++) {
        const r = await ct(['status', trainingId, '--json'], { TEMPORAL_ADDRESS: address });
        if (r.code === 0) {
          status = JSON.parse(r.stdout);
          if (status?.status.step === 'wait-experiment') break;
        }
        await new Promise((res) => setTimeout(res, 200));
      }
      expect(status).toMatchObject({ state: 'RUNNING', status: { step: 'wait-experiment', experiment: { experimentId: 1, state: 'RUNNING' } } });

      expect((await ct(['status', 'no-such-workflow'], { TEMPORAL_ADDRESS: address })).code).toBe(3);

      // Visibility is eventually consistent: retry until the search attributes are indexed.
      let listed: { workflowId: string; status: string }[] = [];
      for (let i = 0; i < 50 && !listed.some((r) => r.workflowId === trainingId); i++) {
        listed = JSON.parse((await ct(['list', '--repo', 'shapes', '--commit', commit, '--json'], { TEMPORAL_ADDRESS: address })).stdout);
        await new Promise((res) => setTimeout(res, 200));
      }
      expect(listed).toEqual([expect.objectContaining({ workflowId: trainingId, status: 'RUNNING' })]);

      const cancel = await ct(['cancel', trainingId, '--json'], { TEMPORAL_ADDRESS: address });
      expect(cancel.code).toBe(0);
      const result = await env.client.workflow.getHandle(trainingId).result().then(() => 'completed', (e: Error) => e.message);
      expect(result).toMatch(/cancel/i);
      expect(world.killed).toEqual([1]);

      // The cancelled training is retried by hand, with a new experiment; a running or completed one is not.
      world.holdExperiments = false;
      const retry = await ct(['retry', '--config', config, '--pipeline', 'shapes', '--commit', commit, '--json'], { TEMPORAL_ADDRESS: address, PACHD_URL: pachd.url });
      expect(retry.code).toBe(0);
      expect(JSON.parse(retry.stdout)).toMatchObject({ status: 'accepted' });
      await env.client.workflow.getHandle(trainingId).result();
      expect(world.experiments.map((e) => [e.id, e.state])).toEqual([
        [1, 'CANCELED'],
        [2, 'COMPLETED'],
      ]);
      const refused = await ct(['retry', '--config', config, '--pipeline', 'shapes', '--commit', commit], { TEMPORAL_ADDRESS: address, PACHD_URL: pachd.url });
      expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/is COMPLETED: only a failed, timed-out or cancelled training is retried$/) });
      await env.client.workflow.getHandle(repoId).terminate('test done');
    });
  });

  test('trigger --wait and status --follow show live progress and the UI link; status renders the steps; list is a table; a bad --query exits 2', async () => {
    const world = createFakeWorld();
    world.holdExperiments = true;
    world.experimentProgress = 0.4;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'cli-test',
      ...testWorkflowBundle(),
      activities: createFakeActivities(world),
      maxHeartbeatThrottleInterval: '200ms',
    });
    const c2 = await putFiles({ url: pachd.url }, 'shapes', 'master', { '/b.txt': 'b' });
    const trainingId = trainingWorkflowId('shapes', c2);
    const vars = { TEMPORAL_ADDRESS: env.address, PACHD_URL: pachd.url, CT_UI_URL: 'http://ui.example/' };
    const link = `http://ui.example/namespaces/default/workflows/${encodeURIComponent(trainingId)}/`;
    await worker.runUntil(async () => {
      // Not a terminal (a pipe): progress as lines, no colour.
      let waitingSoFar = '';
      const waiting = ct(['trigger', '--config', config, '--pipeline', 'shapes', '--commit', c2, '--wait'], vars, (chunk) => (waitingSoFar += chunk));
      const running = async () => (await env.client.workflow.getHandle(trainingId).query(trainingStatusQuery).catch(() => null))?.step === 'wait-experiment';
      for (let i = 0; i < 300 && !(await running()); i++) await new Promise((r) => setTimeout(r, 100));

      // On a terminal: the progress line is redrawn in place, in colour.
      let screen = '';
      const followed = followRun(sdkRunReader(env.client), {
        style: makeStyle(true),
        tty: true,
        write: (s) => (screen += s),
        link: (runId) => runUrl('http://ui.example', 'default', trainingId, runId),
        target: async () => ({ workflowId: trainingId }),
        waitingFor: 'waiting',
        pollMs: 100,
      });
      for (let i = 0; i < 100 && !screen.includes('experiment 1 RUNNING 40%'); i++) await new Promise((r) => setTimeout(r, 100));

      // ct status in text mode, while the experiment runs: the steps as the demo prints them.
      const status = await ct(['status', trainingId], vars);
      expect(status.code).toBe(0);
      const lines = status.stdout.split('\n');
      expect(lines[0]).toMatch(new RegExp(`^${trainingId} \\(trainingWorkflow\\) RUNNING started \\S+, running for `));
      expect(lines.slice(1, 5)).toEqual([
        expect.stringMatching(/^ {4}✔ lookup-model {7}no version yet \d/),
        expect.stringMatching(/^ {4}✔ diff-commit {8}\+1 ~0 -0 files against nothing \(first commit\) \d/),
        expect.stringMatching(/^ {4}✔ fetch-experiment /),
        expect.stringMatching(/^ {4}✔ submit-experiment {2}experiment 1 from scratch \d/),
      ]);
      expect(lines[5]).toMatch(/^ {4}… wait-experiment {4}running$/);
      expect(lines[6]).toBe('      experiment 1 RUNNING 40%');
      expect(lines[7]).toMatch(new RegExp(`^  UI: ${link.replace(/[.?*+()[\]]/g, '\\$&')}[\\w-]+/history$`));
      expect(status.stdout).not.toContain('\x1b[');

      // The experiment ends only once `ct trigger --wait` has shown it running (it polls every 500 ms).
      for (let i = 0; i < 300 && !waitingSoFar.includes('experiment 1 RUNNING 40%'); i++) await new Promise((r) => setTimeout(r, 100));
      world.holdExperiments = false;
      const done = await waiting;
      expect(done.code).toBe(0);
      expect(done.stdout).not.toContain('\x1b[');
      const out = done.stdout.split('\n');
      expect(out[0]).toBe(`${c2} → ${repositoryWorkflowId({ project: 'default', repo: 'shapes', branch: 'master' })}: accepted: queued at position 1`);
      expect(out[1]).toBe(`training run: ${trainingId}`);
      expect(out).toContainEqual(expect.stringMatching(/^ {4}… wait-experiment · experiment 1 RUNNING 40% · \d/));
      expect(out).toContainEqual(expect.stringMatching(/^ {4}✔ register-version {3}shapes version 1 /));
      // A fast machine can finish the training within a second ("COMPLETED in 950 ms").
      expect(done.stdout).toMatch(/^ {2}✔ COMPLETED in \S+ m?s: trained: shapes version 1 from experiment 1, output commit /m);
      expect(out).toContainEqual(expect.stringMatching(new RegExp(`^  UI: ${link.replace(/[.?*+()[\]]/g, '\\$&')}`)));

      const final = await followed;
      expect(final.state).toBe('COMPLETED');
      expect(screen).toContain('\r\x1b[2K'); // the progress line was erased and redrawn
      expect(screen).toMatch(/\x1b\[2m {4}… wait-experiment · experiment 1 RUNNING 40% · /);
      expect(screen).toContain(`\x1b[32m✔\x1b[0m COMPLETED`);

      // --follow of a finished run: its steps and result at once.
      const followedAfter = await ct(['status', trainingId, '--follow'], vars);
      expect(followedAfter).toMatchObject({ code: 0, stdout: expect.stringContaining('  ✔ COMPLETED in ') });
      expect(followedAfter.stdout).toMatch(/ {4}✔ publish-model /);

      // list: a table with a header, from the typed search attributes (visibility is eventually consistent).
      let table = '';
      for (let i = 0; i < 50 && !/COMPLETED/.test(table); i++) {
        table = (await ct(['list', '--commit', c2], vars)).stdout;
        await new Promise((r) => setTimeout(r, 200));
      }
      const [header, row] = table.split('\n');
      expect(header.split(/\s{2,}/)).toEqual(['PIPELINE', 'KIND', 'COMMIT', 'MODEL VERSION', 'STEP', 'STATUS', 'STARTED', 'DURATION', 'WORKFLOW ID']);
      expect(row.split(/\s{2,}/)).toEqual(['shapes', 'training', c2, '1', 'done', 'COMPLETED', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/), expect.stringMatching(/ m?s$/), trainingId]);

      // On a terminal (a pseudo-terminal from `script`): colour, unless --no-color or NO_COLOR.
      const onTty = (extra: string[], more: Record<string, string> = {}) =>
        new Promise<string>((resolve) =>
          execFile('script', ['-qec', [...ctCommandLine(), 'list', '--commit', c2, ...extra].join(' '), '/dev/null'], { encoding: 'utf8', env: { ...process.env, CT_TASK_QUEUE: 'cli-test', ...vars, ...more } }, (_err, stdout) => resolve(stdout)),
        );
      const coloured = await onTty([]);
      expect(coloured).toContain('\x1b[1mPIPELINE');
      expect(coloured).toContain('\x1b[32mCOMPLETED\x1b[0m');
      expect(await onTty(['--no-color'])).toMatch(/^PIPELINE +KIND/);
      expect(await onTty([], { NO_COLOR: '1' })).toMatch(/^PIPELINE +KIND/);

      // A repository workflow's status: its queue and last runs.
      const repoStatus = await ct(['status', repositoryWorkflowId({ project: 'default', repo: 'shapes', branch: 'master' })], vars);
      expect(repoStatus.code).toBe(0);
      expect(repoStatus.stdout.split('\n').slice(1, 3)).toEqual(['  active; 1 processed; pending: none', expect.stringMatching(new RegExp(`^ {4}✔ ${c2} completed: .* ${trainingId}$`))]);

      const badQuery = await ct(['list', '--query', "NoSuchAttribute = 'x'"], vars);
      expect(badQuery).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: --query refused by the server: .*NoSuchAttribute/) });
      await env.client.workflow.getHandle(repositoryWorkflowId({ project: 'default', repo: 'shapes', branch: 'master' })).terminate('test done');
    });
  });

  test('ct status does not load the Temporal SDK (its start-up is mostly that load); ct list does', async () => {
    // A preload that reports, as the process exits, which modules of the SDK's client and protobufs it loaded.
    const probe = path.join(dir, 'loaded-sdk.js');
    fs.writeFileSync(probe, `process.on('exit', () => require('fs').writeSync(2, 'SDK ' + JSON.stringify(Object.keys(require.cache).filter((m) => /@temporalio[\\\\/](client|proto)[\\\\/]/.test(m)).length) + '\\n'));`);
    const vars = { TEMPORAL_ADDRESS: env.address, NODE_OPTIONS: `--require ${probe}` };
    // One line per node process (tsx runs the CLI in a child of its own).
    const loaded = (stderr: string) => [...stderr.matchAll(/^SDK (\d+)$/gm)].map((m) => Number(m[1]));
    const status = await ct(['status', 'no-such-workflow'], vars);
    expect(status).toMatchObject({ code: 3, stderr: expect.stringMatching(/^error: workflow not found for ID: no-such-workflow\n/) });
    expect(loaded(status.stderr)).toContain(0);
    expect(Math.max(...loaded(status.stderr))).toBe(0);
    const list = await ct(['list', '--commit', 'none', '--json'], vars);
    expect(list.code).toBe(0);
    expect(Math.max(...loaded(list.stderr))).toBeGreaterThan(10);
  });

  test('ct watch applies a changed pipelines file to the running repository workflow, and pause/resume --deployment reach the deployer', async () => {
    const world = createFakeWorld();
    const taskQueue = 'cli-watch';
    const file = path.join(dir, 'watched.yaml');
    // A pipeline of its own (input repo "watched"), so nothing of the other tests is in its way.
    const text = fs.readFileSync(config, 'utf8').replace('name: shapes\n', 'name: watched\n').replace('repo: shapes, branch', 'repo: watched, branch');
    fs.writeFileSync(file, text);
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...testWorkflowBundle(), activities: createFakeActivities(world) });
    await worker.runUntil(async () => {
      const c1 = await putFiles({ url: pachd.url }, 'watched', 'master', { '/a.txt': 'a' });
      const [node, cli] = ctCommandLine();
      const watcher = spawn(node, [cli, 'watch', '--config', file], {
        env: { ...process.env, TEMPORAL_ADDRESS: env.address, CT_TASK_QUEUE: taskQueue, PACHD_URL: pachd.url },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let logs = '';
      watcher.stderr.on('data', (d: Buffer) => (logs += d.toString()));
      const exited = new Promise<number | null>((resolve) => watcher.on('exit', (code) => resolve(code)));
      const repo = env.client.workflow.getHandle(repositoryWorkflowId({ project: 'default', repo: 'watched', branch: 'master' }));
      const status = () => repo.query(repositoryStatusQuery);
      try {
        await until(async () => (await status().catch(() => null))?.processed === 1, () => logs);
        const before = (await status()).specRevision;
        expect(before).toMatch(/\w+/);
        expect(world.experiments.map((e) => e.commit)).toEqual([c1]);

        // The file changes while the watcher runs: the running workflow gets the new spec by its Update.
        fs.writeFileSync(file, text.replace('timeout: 24h', 'timeout: 12h'));
        await until(async () => (await status()).specRevision !== before, () => logs);
        // The watcher logs once its Update has returned, which may be just after the workflow applied it.
        await until(async () => /"event":"watch.config"/.test(logs), () => logs);

        // pause --deployment holds the deployer (started by the watcher's deployment stream when it exists).
        const deployerId = deploymentQueueWorkflowId('seldon', 'shapes-deploy');
        const [pipeline] = loadPipelinesConfig(file);
        await env.client.workflow.start(deployerWorkflow, { taskQueue, workflowId: deployerId, args: [deployerSpec(pipeline)] });
        const paused = await ct(['pause', '--deployment', '--config', file, '--pipeline', 'watched', '--json'], { TEMPORAL_ADDRESS: env.address, CT_TASK_QUEUE: taskQueue });
        expect(paused).toMatchObject({ code: 0 });
        expect(JSON.parse(paused.stdout)).toEqual({ workflowId: deployerId, paused: true });
        expect((await env.client.workflow.getHandle(deployerId).query(deployerStatusQuery)).paused).toBe(true);
        const resumed = await ct(['resume', '--deployment', '--config', file, '--pipeline', 'watched'], { TEMPORAL_ADDRESS: env.address, CT_TASK_QUEUE: taskQueue });
        expect(resumed.code).toBe(0);
        expect((await env.client.workflow.getHandle(deployerId).query(deployerStatusQuery)).paused).toBe(false);
        await env.client.workflow.getHandle(deployerId).terminate('test done');
      } finally {
        watcher.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      await repo.terminate('test done');
    });
  });
});

/** Waits until `check` holds (bounded); says what the watcher logged when it does not. */
async function until(check: () => Promise<boolean>, logs: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not reached; the watcher logged:\n${logs().slice(-3000)}`);
}
