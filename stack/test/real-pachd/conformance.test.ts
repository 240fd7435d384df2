// Differential conformance: the same Pachyderm requests (conformance-cases.ts) sent to the pachd emulator
// and to Pachyderm's own pachd v2.12.2, their answers compared status and body after normalising what
// differs by nature: commit ids (named by the case that made them, or by order of appearance),
// timestamps, content hashes (by order of appearance, so equal stays equal), durations, and a commit's
// sizeBytesUpperBound (pachd fills it in some time after the commit finished).
import fs from 'node:fs';
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { startPachydermEmulator, type PachydermEmulator } from '@continuous-training/emulators/pachyderm';
import { startRealPachd, type RealPachd } from '../../real-pachd';
import { CASES, type ConformanceCase } from './conformance-cases';
import { describeRealPachd, startTestPachd } from './helpers';

const TOKEN = 'conformance-root-token';

interface Answer {
  status: number;
  body: unknown;
}

describeRealPachd('differential conformance: the pachd emulator against real pachd', () => {
  let emulator: PachydermEmulator;
  let real: RealPachd;
  const answers = new Map<string, { emulator: Answer; real: Answer }>();

  beforeAll(async () => {
    await startTestPachd().then((p) => p.close()); // fails here, with what is missing, under CI=true
    emulator = await startPachydermEmulator({ authToken: TOKEN });
    real = await startRealPachd({ rootToken: TOKEN });
    const fromEmulator = await runAll(emulator.url);
    const fromReal = await runAll(real.url);
    for (const c of CASES) answers.set(c.name, { emulator: fromEmulator.get(c.name)!, real: fromReal.get(c.name)! });
    // CONFORMANCE_REPORT=<file>: every normalised answer pair, to study a difference.
    if (process.env.CONFORMANCE_REPORT) fs.writeFileSync(process.env.CONFORMANCE_REPORT, JSON.stringify(Object.fromEntries(answers), null, 1));
  }, 120_000);

  afterAll(async () => {
    await emulator?.close();
    await real?.close();
  });

  test('every case has a unique name, and the counts are reported', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    const differing = CASES.filter((c) => !isDeepStrictEqual(answers.get(c.name)!.emulator, answers.get(c.name)!.real));
    const known = differing.filter((c) => c.knownDifference);
    console.log(`conformance: ${CASES.length} requests, ${differing.length} differ (${known.length} known and listed in emulators/pachyderm/README.md)`);
  });

  test.each(CASES.filter((c) => !c.knownDifference).map((c) => [c.name, c] as const))('%s: same answer', (_name, c) => {
    const { emulator: e, real: r } = answers.get(c.name)!;
    expect(e).toEqual(r);
  });

  const known = CASES.filter((c) => c.knownDifference);
  if (known.length) {
    test.each(known.map((c) => [c.name, c] as const))('%s: still differs (known difference)', (_name, c) => {
      const { emulator: e, real: r } = answers.get(c.name)!;
      // Once they agree, remove the mark (and the README's line).
      expect(isDeepStrictEqual(e, r)).toBe(false);
    });
  }
});

/** Runs every case in order against one server; returns the normalised answers by case name. */
async function runAll(baseUrl: string): Promise<Map<string, Answer>> {
  const vars: Record<string, string> = {};
  const normaliser = new Normaliser();
  // Ids written in the cases (missing commits) are named up front: a server that never echoes one
  // (pachd's panics) must not shift the labels of the ids that follow.
  for (const literal of new Set(JSON.stringify(CASES).match(COMMIT_ID) ?? [])) normaliser.name(literal, `literal-${literal.slice(0, 4)}`);
  const out = new Map<string, Answer>();
  for (const c of CASES) {
    const raw = await send(baseUrl, c, vars);
    const first = Array.isArray(raw.body) ? raw.body[0] : raw.body;
    for (const [name, pick] of Object.entries(c.capture ?? {})) {
      if (raw.status !== 200) throw new Error(`${baseUrl}: case "${c.name}" answered ${raw.status}, nothing to capture: ${JSON.stringify(raw.body)}`);
      const value = pick(first);
      vars[name] = value;
      normaliser.name(value, name);
    }
    out.set(c.name, { status: raw.status, body: normaliser.apply(raw.body) });
  }
  return out;
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (_m, name: string) => {
    if (!(name in vars)) throw new Error(`no value captured for \${${name}}`);
    return vars[name]!;
  });
}

function send(baseUrl: string, c: ConformanceCase, vars: Record<string, string>): Promise<Answer> {
  const token = (c.token ?? 'root') === 'root' ? TOKEN : c.token === 'bad' ? 'not-a-valid-token' : undefined;
  const headers: Record<string, string> = token ? { 'authn-token': token } : {};
  const path = c.rpc ? `/api/${c.rpc}` : substitute(c.get!, vars);
  let payload: string | undefined;
  if (c.rpc) {
    headers['content-type'] = 'application/json';
    payload = c.lines
      ? c.lines.map((l) => (typeof l === 'string' ? l : substitute(JSON.stringify(l), vars))).join('\n') + '\n'
      : substitute(JSON.stringify(c.body ?? {}), vars);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${path}`, { method: c.rpc ? 'POST' : 'GET', headers, agent: false });
    req.removeHeader('connection'); // real pachd's REST gateway answers a Connection header with 500
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let lines = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (c.limit !== undefined) {
          lines += chunk.toString('utf8').split('\n').length - 1;
          if (lines >= c.limit) res.destroy();
        }
      });
      const done = () => resolve({ status: res.statusCode ?? 0, body: parse(Buffer.concat(chunks).toString('utf8'), c) });
      res.on('end', done);
      res.on('close', done);
    });
    req.end(payload);
  });
}

function parse(text: string, c: ConformanceCase): unknown {
  if (c.stream) {
    const lines = text.split('\n').filter((l) => l.trim());
    return (c.limit !== undefined ? lines.slice(0, c.limit) : lines).map(parseJson);
  }
  return parseJson(text);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.trim();
  }
}

const COMMIT_ID = /\b[0-9a-f]{32}\b/g;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const DURATION = /^\d+(\.\d+)?s$/;

/** Replaces what differs by nature between two servers with stable labels. */
class Normaliser {
  private readonly ids = new Map<string, string>();
  private readonly hashes = new Map<string, string>();

  name(id: string, label: string): void {
    this.ids.set(id, `<${label}>`);
  }

  apply(value: unknown, key = ''): unknown {
    if (typeof value === 'string') {
      if (TIMESTAMP.test(value)) return '<time>';
      if (DURATION.test(value) && /time|duration/i.test(key)) return '<duration>';
      if (key === 'hash' && value) return this.label(this.hashes, value, 'hash');
      // pachd computes a commit's size some time after it finished, so it reads 0 or the size.
      if (key === 'sizeBytesUpperBound') return '<size>';
      return value.replace(COMMIT_ID, (id) => this.label(this.ids, id, 'id'));
    }
    if (Array.isArray(value)) return value.map((v) => this.apply(v, key));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.apply(v, k)]));
    }
    return value;
  }

  private label(map: Map<string, string>, value: string, kind: string): string {
    let label = map.get(value);
    if (!label) map.set(value, (label = `<${kind}${map.size + 1}>`));
    return label;
  }
}
