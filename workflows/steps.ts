// Records the steps of a run for the status query, the CtStep search attribute and the UI's details line.
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
      this.details();
    }
  }

  /** Marks the run finished with a final state shown in the UI. */
  finish(state: string): void {
    this.enter(state);
  }

  private enter(name: string): void {
    this.current = name;
    upsertSearchAttributes([{ key: CtStep, value: name }]);
    this.details();
  }

  private details(): void {
    const done = this.steps
      .filter((s) => s.outcome)
      .map((s) => `- ${s.name}: ${s.outcome}${s.detail ? ` (${s.detail})` : ''}${s.durationMs !== undefined ? ` in ${s.durationMs} ms` : ''}`);
    setCurrentDetails([`**${this.title}**`, `current step: ${this.current ?? '-'}`, ...done].join('\n'));
  }
}
