// `ct list`: runs found by a visibility query, with what the product's typed search attributes say about
// them (pipeline, commit, model version, step), as JSON or a table.
import { ServiceError, type Client } from '@temporalio/client';
import { CtCommit, CtModelVersion, CtPipeline, CtStep } from '../common/search-attributes';
import { UsageError } from './cli-support';
import { formatDuration, table, type Style } from './render';

export interface ListedRun {
  workflowId: string;
  runId: string;
  type: string;
  /** training, deployment, repository, deployer (from the workflow type). */
  kind: string;
  status: string;
  pipeline: string | null;
  commit: string | null;
  modelVersion: number | null;
  step: string | null;
  start: string;
  close: string | null;
  durationMs: number | null;
}

/** INVALID_ARGUMENT: the server refused the query; its reason is the user's to read. */
const INVALID_ARGUMENT = 3;

export async function listRuns(client: Client, query: string | undefined, limit: number): Promise<ListedRun[]> {
  const runs: ListedRun[] = [];
  try {
    for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
      const sa = wf.typedSearchAttributes;
      runs.push({
        workflowId: wf.workflowId,
        runId: wf.runId,
        type: wf.type,
        kind: wf.type.replace(/Workflow$/, ''),
        status: wf.status.name,
        pipeline: sa.get(CtPipeline) ?? null,
        commit: sa.get(CtCommit) ?? null,
        modelVersion: sa.get(CtModelVersion) ?? null,
        step: sa.get(CtStep) ?? null,
        start: wf.startTime.toISOString(),
        close: wf.closeTime?.toISOString() ?? null,
        durationMs: (wf.closeTime ?? new Date()).getTime() - wf.startTime.getTime(),
      });
      if (runs.length >= limit) break;
    }
  } catch (err) {
    const cause = err instanceof ServiceError ? (err.cause as { code?: number; details?: string } | undefined) : undefined;
    if (cause?.code === INVALID_ARGUMENT) throw new UsageError(`--query refused by the server: ${cause.details ?? (err as Error).message}`);
    throw err;
  }
  return runs;
}

export function formatRunsTable(runs: ListedRun[], style: Style): string {
  const statusStyle = (s: string) => (s === 'COMPLETED' ? style.green(s) : s === 'RUNNING' ? style.yellow(s) : s === 'FAILED' || s === 'TIMED_OUT' || s === 'TERMINATED' ? style.red(s) : s);
  const rows = runs.map((r) => [
    r.pipeline ?? '-',
    r.kind,
    r.commit ?? '-',
    r.modelVersion === null ? '-' : String(r.modelVersion),
    r.step ?? '-',
    r.status,
    r.start.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    r.durationMs === null ? '-' : formatDuration(r.durationMs) + (r.close ? '' : '…'),
    r.workflowId,
  ]);
  const STATUS = 5;
  const header = ['PIPELINE', 'KIND', 'COMMIT', 'MODEL VERSION', 'STEP', 'STATUS', 'STARTED', 'DURATION', 'WORKFLOW ID'];
  return table(header, rows, style, (cell, row, column) => (column === STATUS ? cell.replace(runs[row].status, statusStyle(runs[row].status)) : cell));
}
