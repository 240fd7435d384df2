// Records the steps of a run for the status query, the CtStep search attribute and the UI's details line.
// Steps may overlap (independent calls run concurrently): each record keeps its own start and end, in
// the order the steps started, and the current step names every step still running.
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { CtStep } from '../common/search-attributes';

export interface StepRecord {
  name: string;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  outcome?: 'ok' | 'failed';
  /** A short human-readable result, e.g. `experiment 12 COMPLETED`. */
  detail?: string;
}

export class StepTracker {
  readonly steps: StepRecord[] = [];
  current: string | null = null;
  /** The steps running now, in the order they started. */
  private readonly running: string[] = [];

  constructor(private readonly title: string) {}

  /** Runs one step, timing it and publishing it as the current step. */
  async run<T>(name: string, fn: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
    const record: StepRecord = { name, startedAt: new Date().toISOString() };
    this.steps.push(record);
    this.enter(name);
    const started = Date.now();
    try {
      const result = await fn();
      record.outcome = 'ok';
      record.detail = describe?.(result);
      return result;
    } catch (err) {
      record.outcome = 'failed';
      record.detail = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      record.endedAt = new Date().toISOString();
      record.durationMs = Date.now() - started;
      this.running.splice(this.running.indexOf(name), 1);
      // While concurrent steps remain, the current step is the rest of them; the search attribute
      // follows at the next step's start (no extra command here: sequential runs replay unchanged).
      if (this.running.length) this.current = this.running.join(' + ');
      this.details();
    }
  }

  /**
   * Runs independent steps concurrently and waits for all of them (none is left running when one
   * fails); then throws the first failure, in the order given.
   */
  async all<T extends readonly unknown[]>(steps: { [K in keyof T]: () => Promise<T[K]> }): Promise<T> {
    const settled = await Promise.allSettled(steps.map((run) => run()));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
  }

  /** Marks the run finished with a final state shown in the UI. */
  finish(state: string): void {
    this.running.length = 0;
    this.setCurrent(state);
  }

  private enter(name: string): void {
    this.running.push(name);
    this.setCurrent(this.running.join(' + '));
  }

  private setCurrent(value: string): void {
    this.current = value;
    upsertSearchAttributes([{ key: CtStep, value }]);
    this.details();
  }

  private details(): void {
    const done = this.steps
      .filter((s) => s.outcome)
      .map((s) => `- ${s.name}: ${s.outcome}${s.detail ? ` (${s.detail})` : ''}${s.durationMs !== undefined ? ` in ${s.durationMs} ms` : ''}`);
    setCurrentDetails([`**${this.title}**`, `current step: ${this.current ?? '-'}`, ...done].join('\n'));
  }
}
