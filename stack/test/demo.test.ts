// The README's first command, `npm run demo -- --exit`, as a user runs it (CI runs this in a fresh clone made
// in an empty folder): both batches trained and deployed, version 2 answering "triangle", the summary table;
// and a taken port named with the variable that moves it, before anything starts.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { freePort } from '../processes';

const PORT_VARIABLES = ['CT_DEMO_TEMPORAL_PORT', 'CT_DEMO_UI_PORT', 'CT_DEMO_PACHD_PORT', 'CT_DEMO_DET_PORT', 'CT_DEMO_SELDON_PORT'];

async function demoEnv(): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const variable of PORT_VARIABLES) env[variable] = String(await freePort());
  return env;
}

function runDemo(stateDir: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'demo', '--', '--exit', '--state-dir', stateDir], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-demo-test-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('npm run demo -- --exit: two batches trained and deployed, version 2 answers "triangle", a summary table', async () => {
  const { code, stdout, stderr } = await runDemo(path.join(tmp, 'state'), await demoEnv());
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout).toMatch(/prediction for a triangle image from model version 2: triangle/);
  const header = stdout.split('\n').findIndex((l) => /^batch\s+commit\s+experiment\s+version\s+output commit\s+deployment\s+prediction/.test(l));
  expect(header).toBeGreaterThan(0);
  const rows = stdout.split('\n').slice(header + 1, header + 3).map((l) => l.trim().split(/\s{2,}/));
  expect(rows.map((r) => [r[0], r[3], r[5]])).toEqual([
    ['1', '1', 'deployed'],
    ['2', '2', 'deployed'],
  ]);
  expect(rows[1][6]).toBe('triangle (v2)');
  // Each line once: no experiment line after the step that ended the wait, no watcher noise when stopping.
  expect(stdout).not.toMatch(/watcher: .*\(retrying\)/);
  expect(stderr).not.toMatch(/Warning/); // e.g. MaxListenersExceededWarning from many requests of one activity
  const lines = stdout.split('\n');
  const registered = lines.findIndex((l) => l.includes('✔ register-version'));
  expect(lines.slice(registered).some((l) => /^\s+experiment \d+ (COMPLETED|RUNNING)/.test(l))).toBe(false);
}, 600_000);

test('a taken port stops the demo before anything starts, naming the variable that moves it', async () => {
  const env = await demoEnv();
  // The port checked first: another port that freePort handed out may be taken meanwhile by someone else,
  // and the demo names the first taken port it finds.
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(Number(env.CT_DEMO_TEMPORAL_PORT), '127.0.0.1', resolve));
  try {
    const { code, stderr, stdout } = await runDemo(path.join(tmp, 'taken'), env);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`demo failed: port ${env.CT_DEMO_TEMPORAL_PORT} (Temporal dev server) is taken: stop what uses it, or set CT_DEMO_TEMPORAL_PORT to a free port`);
    expect(stdout).not.toContain('✔ Temporal dev server');
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
}, 120_000);
