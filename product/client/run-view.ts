// One run as `ct status` shows it, and `ct status --follow` / `ct trigger --wait` following it live: the
// describe (state, times, the pending experiment wait's last heartbeat), the status query (steps, current
// step, result) and the run's UI link.
import { NotFoundError } from './cli-support';
import type { ExperimentProgress } from '../common/types';
import type { StepRecord } from '../workflows/steps';
import type { RunSummary } from '../workflows/commit-queue';
import { experimentText, formatDuration, stepLine, type Style } from './render';

/** What the status queries of the four workflow types hold (each has some of these). */
export interface AnyStatus {
  step?: string | null;
  steps?: StepRecord[];
  experiment?: ExperimentProgress | null;
  result?: Record<string, unknown> | null;
  paused?: boolean;
  pending?: string[];
  processed?: number;
  running?: { commit?: string; outputCommit?: string; workflowId: string } | null;
  recent?: RunSummary[];
  specRevision?: string | null;
}

/**
 * What a reader of runs gets from Temporal for a workflow's current run: the description, the status query's
 * answer (or why there is none) and, for a run that closed without completing, its failure. Two readers: the
 * SDK's client (sdk-run-reader.ts), and the three calls `ct status` makes without the SDK (wire-run-reader.ts).
 * Both throw NotFoundError when there is no such workflow.
 */
export type RunReader = (workflowId: string) => Promise<RunReading>;

export interface RunReading {
  runId: string;
  type: string;
  state: string;
  start: Date;
  close?: Date;
  status: AnyStatus | null;
  /** Why the status query did not answer (no worker, ...). */
  statusUnavailable?: string;
  /** The last heartbeat of each pending activity (the first value of its details). */
  heartbeats: unknown[];
  /** The failure of a closed run that did not complete. */
  failure?: string;
}

export interface RunView extends Omit<RunReading, 'heartbeats'> {
  workflowId: string;
  /** The experiment as the status query has it, or newer: the last heartbeat of the running wait. */
  experiment: ExperimentProgress | null;
}

/** The states whose run has a failure to show (its close event). */
export const FAILED_STATES = ['FAILED', 'TIMED_OUT', 'CANCELLED', 'TERMINATED'];

export async function readRun(read: RunReader, workflowId: string): Promise<RunView> {
  const { heartbeats, ...reading } = await read(workflowId);
  // The wait for the experiment heartbeats its progress on each poll; the query has it at each state change only.
  let experiment = reading.status?.experiment ?? null;
  for (const beat of heartbeats as (ExperimentProgress | null)[]) {
    if (beat && typeof beat.experimentId === 'number') experiment = beat;
  }
  return { workflowId, ...reading, experiment };
}

export function elapsed(view: RunView, now = Date.now()): number {
  return (view.close?.getTime() ?? now) - view.start.getTime();
}

/** One line for a run's result, from its status query. */
export function resultText(view: RunView): string | null {
  const r = view.status?.result;
  if (!r) return view.failure ?? null;
  switch (r.status) {
    case 'trained': {
      const v = r.modelVersion as { modelName: string; version: number };
      return `trained: ${v.modelName} version ${v.version} from experiment ${String(r.experimentId)}, output commit ${String(r.outputCommit)}`;
    }
    case 'deployed':
      return `deployed output commit ${String(r.outputCommit)}`;
    case 'rolled-back':
      return `rolled back: ${String(r.error)}`;
    case 'skipped':
      return `skipped: ${String(r.reason)}`;
    default:
      return JSON.stringify(r);
  }
}

/** The run as `ct status` prints it: a header, the steps as the demo shows them (or a queue's state), the result, the link. */
export function renderRun(view: RunView, style: Style, link: string | null): string {
  const stateStyle = view.state === 'COMPLETED' ? style.green : view.state === 'RUNNING' ? style.yellow : style.red;
  const lines = [`${style.bold(view.workflowId)} ${style.dim(`(${view.type})`)} ${stateStyle(view.state)} ${style.dim(`started ${view.start.toISOString()}, ${view.close ? 'took' : 'running for'} ${formatDuration(elapsed(view))}`)}`];
  const s = view.status;
  if (!s) {
    lines.push(`  status unavailable: ${view.statusUnavailable ?? 'no answer'}`);
  } else if (s.steps) {
    for (const step of s.steps) lines.push(stepLine(step, style));
    if (view.state === 'RUNNING' && view.experiment) lines.push(style.dim(`      ${experimentText(view.experiment)}`));
  } else {
    // A repository or deployer workflow: its queue.
    lines.push(`  ${s.paused ? style.yellow('paused') : 'active'}; ${s.processed ?? 0} processed; pending: ${s.pending?.length ? s.pending.join(', ') : 'none'}`);
    if (s.running) lines.push(`  running: ${s.running.commit ?? s.running.outputCommit} in ${s.running.workflowId}`);
    for (const r of s.recent?.slice(-5) ?? []) lines.push(`    ${r.outcome === 'completed' ? style.green('✔') : r.outcome === 'failed' || r.outcome === 'timed-out' ? style.red('✘') : '·'} ${r.commit} ${r.outcome}${r.detail ? `: ${r.detail}` : ''} ${style.dim(r.workflowId)}`);
    if (s.specRevision) lines.push(style.dim(`  spec revision ${s.specRevision}`));
  }
  const result = resultText(view);
  if (result && view.state !== 'RUNNING') lines.push(`  ${view.state === 'COMPLETED' ? result : style.red(result)}`);
  if (link) lines.push(`  ${style.dim('UI:')} ${link}`);
  return lines.join('\n');
}

/** The live line: current step, experiment, elapsed time. */
export function progressText(view: RunView, now = Date.now()): { what: string; line: string } {
  const parts = [view.status?.step ?? (view.statusUnavailable ? 'waiting for a worker' : 'starting')];
  // The experiment only while the run waits for it (after the wait its final state is in the step line).
  if (view.experiment && view.state === 'RUNNING' && view.status?.step === 'wait-experiment') parts.push(experimentText(view.experiment));
  const what = parts.join(' · ');
  return { what, line: `    … ${what} · ${formatDuration(elapsed(view, now))}` };
}

export interface FollowOptions {
  style: Style;
  /** Redraw the progress line in place (a TTY); otherwise print it as a line when it changes. */
  tty: boolean;
  write: (s: string) => void;
  link: (runId: string) => string | null;
  pollMs?: number;
  /** The run to follow: the id, or null while it does not exist yet (e.g. queued behind another training). */
  target: () => Promise<{ workflowId: string; skipRunId?: string } | null>;
  /** Shown while there is no run to follow yet. */
  waitingFor: string;
}

/** Follows a run until it closes; prints finished steps as they come, the progress, the result and the link. Resolves to the final view. */
export async function followRun(read: RunReader, opts: FollowOptions): Promise<RunView> {
  const { style, write } = opts;
  const started = Date.now();
  let printedSteps = 0;
  let headerFor: string | null = null;
  let lastWhat: string | null = null;
  let drawn = false;
  const clear = () => {
    if (drawn) write('\r\x1b[2K');
    drawn = false;
  };
  const progress = (what: string, line: string) => {
    if (opts.tty) {
      clear();
      write(style.dim(line));
      drawn = true;
    } else if (what !== lastWhat) {
      write(`${line}\n`);
    }
    lastWhat = what;
  };
  for (;;) {
    const target = await opts.target();
    let view: RunView | null = null;
    if (target) {
      view = await readRun(read, target.workflowId).catch((err: unknown) => {
        if (err instanceof NotFoundError) return null;
        throw err;
      });
      if (view && view.runId === target.skipRunId) view = null; // the earlier run of a retried training
    }
    if (!view) {
      progress(opts.waitingFor, `    … ${opts.waitingFor} · ${formatDuration(Date.now() - started)}`);
    } else {
      if (headerFor !== view.runId) {
        clear();
        write(`${style.bold(view.workflowId)} ${style.dim(`(${view.type})`)}\n`);
        headerFor = view.runId;
        printedSteps = 0;
      }
      for (const step of view.status?.steps?.slice(printedSteps) ?? []) {
        if (!step.outcome) break;
        clear();
        write(`${stepLine(step, style)}\n`);
        printedSteps++;
      }
      if (view.state !== 'RUNNING') {
        clear();
        const ok = view.state === 'COMPLETED';
        const result = resultText(view);
        write(`  ${ok ? style.green('✔') : style.red('✘')} ${view.state} in ${formatDuration(elapsed(view))}${result ? `: ${result}` : ''}\n`);
        const link = opts.link(view.runId);
        if (link) write(`  ${style.dim('UI:')} ${link}\n`);
        return view;
      }
      // Once the result is in, the run is only closing: nothing to report until it has.
      if (!view.status?.result) {
        const { what, line } = progressText(view);
        progress(what, line);
      }
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
