// The demo dataset (experiments/shapes/make_dataset.py): two batches of small images, and probes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';

const python = path.join(projectRoot, '.venv', 'bin', 'python');
const script = path.join(projectRoot, 'experiments', 'shapes', 'make_dataset.py');

/** The files batch `n` adds or changes, keyed by their path in the input repo. */
export function demoBatch(n: 1 | 2): Record<string, Buffer> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `ct-batch${n}-`));
  try {
    execFileSync(python, [script, '--batch', String(n), '--out', out], { stdio: 'pipe' });
    const files: Record<string, Buffer> = {};
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else files['/' + path.relative(out, full).split(path.sep).join('/')] = fs.readFileSync(full);
      }
    };
    walk(out);
    return files;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** A Seldon prediction request body holding one fresh image of `shape`. */
export function demoProbe(shape: 'circle' | 'square' | 'triangle'): unknown {
  return JSON.parse(execFileSync(python, [script, '--probe', shape], { stdio: 'pipe' }).toString('utf8'));
}

export interface Prediction {
  label: string;
  probabilities: Record<string, number>;
  registryVersion: string;
}

/** Asks a deployment for a prediction on the Seldon protocol path and reads the label. */
export async function predict(seldonUrl: string, namespace: string, name: string, body: unknown): Promise<Prediction> {
  const res = await fetch(`${seldonUrl}/seldon/${namespace}/${name}/api/v1.0/predictions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`prediction failed: HTTP ${res.status}: ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as {
    data: { names: string[]; ndarray: number[][] };
    meta?: { tags?: Record<string, unknown> };
  };
  const probs = answer.data.ndarray[0];
  const best = probs.indexOf(Math.max(...probs));
  return {
    label: answer.data.names[best],
    probabilities: Object.fromEntries(answer.data.names.map((n, i) => [n, probs[i]])),
    registryVersion: String(answer.meta?.tags?.model_registry_version ?? '?'),
  };
}
