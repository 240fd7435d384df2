// The official Python pachyderm_sdk (pinned in requirements-dev.txt) against the emulator's gRPC port.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startPachydermEmulator, type PachydermEmulator } from '../pachyderm';

const PYTHON = path.resolve(__dirname, '../../.venv/bin/python');
const SCRIPT = path.resolve(__dirname, 'python/pachyderm_client.py');
const hasPython = fs.existsSync(PYTHON);
if (!hasPython && process.env.CI === 'true') throw new Error(`${PYTHON} is missing: run bash scripts/setup.sh`);
const maybe = hasPython ? describe : describe.skip;

const TOKEN = 'grpc-test-token';

function runScript(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [SCRIPT], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    // A hung client must not outlive the test.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

maybe('official pachyderm_sdk against the emulator (gRPC)', () => {
  let stateDir: string;
  let emu: PachydermEmulator;
  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-pachd-py-'));
    emu = await startPachydermEmulator({ stateDir, authToken: TOKEN });
  });
  afterAll(async () => {
    await emu.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('repo, two commits, wait FINISHED, diff, read back, wrong token', async () => {
    const result = await runScript({ PACHD_GRPC_HOST: '127.0.0.1', PACHD_GRPC_PORT: String(emu.grpcPort), PACHD_AUTH_TOKEN: TOKEN, PACHD_REPO: 'images' });
    expect(result.out).toContain('OK version 2.12.0-emulator');
    expect(result.out).toContain("OK diff added=['/new.txt'] modified=['/', '/change.txt'] deleted=['/dir/', '/dir/gone.txt']");
    expect(result.out).toContain("OK read back b'version 2\\n'");
    expect(result.out).toContain('OK glob_file lists the root for / only');
    expect(result.out).toContain('OK delete_repo of a missing repo: deleted=False');
    expect(result.out).toContain('OK wrong token UNAUTHENTICATED: provided auth token is corrupted or has expired (try logging in again)');
    // A robot token minted and bound repoReader on the repo through the SDK: reads, no write, no minting.
    expect(result.out).toContain('OK robot robot:sdk-reader reads images');
    expect(result.out).toContain('OK robot write PERMISSION_DENIED');
    expect(result.out).toContain('OK robot get_robot_token PERMISSION_DENIED');
    expect(result.code).toBe(0);

    // What the SDK wrote is what the REST side (same core, same state) sees.
    const head = emu.store.branch('default', 'images', 'master').head;
    const commit = emu.store.commitById(head);
    expect(commit?.description).toBe('second');
    const res = await fetch(`${emu.url}/pfs/default/images/master/new.txt`, { headers: { 'authn-token': TOKEN } });
    expect(await res.text()).toBe('brand new\n');
  });

  test('the script fails against a token it was not started with', async () => {
    const result = await runScript({ PACHD_GRPC_PORT: String(emu.grpcPort), PACHD_AUTH_TOKEN: 'not-the-token', PACHD_REPO: 'other' });
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('UNAUTHENTICATED');
  });
});
