// How runs look on a terminal, shared by `ct` (status, --follow, --wait, list) and the demo: colour that
// follows NO_COLOR, --no-color and the TTY; one line per finished step; durations; tables.
import type { StepRecord } from '../workflows/steps';
import type { ExperimentProgress } from '../common/types';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
}

/** Colour only on a terminal, and never with NO_COLOR (https://no-color.org: any non-empty value) or --no-color. */
export function colourEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env, noColorFlag = false): boolean {
  return !noColorFlag && !env.NO_COLOR && !!stream.isTTY && env.TERM !== 'dumb';
}

export function makeStyle(colour: boolean): Style {
  const sgr = (code: string) => (s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: sgr('1'), dim: sgr('2'), green: sgr('32'), red: sgr('31'), yellow: sgr('33') };
}

/** 850 ms, 12.3 s, 3m 05s, 1h 02m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/** A finished step as the demo prints it: `    ✔ register-version   shapes version 2 (checkpoint …) 41 ms`. */
export function stepLine(step: StepRecord, style: Style): string {
  const mark = step.outcome === 'failed' ? style.red('✘') : step.outcome === 'ok' ? style.green('✔') : style.yellow('…');
  const took = step.durationMs !== undefined ? style.dim(formatDuration(step.durationMs)) : style.dim('running');
  return `    ${mark} ${step.name.padEnd(18)} ${step.detail ? `${step.detail} ` : ''}${took}`;
}

/** `experiment 12 RUNNING 40%` (the progress when Determined reports it). */
export function experimentText(e: ExperimentProgress): string {
  return `experiment ${e.experimentId} ${e.state}${e.progress !== null && e.progress !== undefined ? ` ${Math.round(e.progress * 100)}%` : ''}`;
}

/** Left-aligned columns under a bold header; `paint` colours a padded cell (after the layout, so escape codes do not count). */
export function table(header: string[], rows: string[][], style: Style, paint: (cell: string, row: number, column: number) => string = (c) => c): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])));
  return [style.bold(pad(header).join('  ').trimEnd()), ...rows.map((r, row) => pad(r).map((c, column) => paint(c, row, column)).join('  ').trimEnd())].join('\n');
}
