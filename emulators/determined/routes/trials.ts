// Trials: GetTrial, a trial's checkpoints, its workloads (GetTrialWorkloads, which `det experiment describe`
// and `det trial describe` read) and its logs (TrialLogs, NDJSON).
import fs from 'node:fs';
import type { RequestContext, Router } from '../../common/router';
import { sendJson, writeNdjsonLine } from '../../common/body';
import { apiError } from '../errors';
import { authed, enumParam, experimentOr404, intParam, ORDER_BY, trialOr404, type MasterContext, type OrderBy } from '../context';
import { TERMINAL_STATES, type MetricsReport, type CheckpointRecord, type TrialRecord } from '../store';
import { checkpointJson, checkpointWorkloadJson, metricsWorkloadJson, trialJson } from '../wire';
import { pageInfo, pageParams, paginate } from '../pagination';
import { sortCheckpoints } from './experiments';

const WORKLOAD_FILTERS = [
  'FILTER_OPTION_UNSPECIFIED', 'FILTER_OPTION_CHECKPOINT', 'FILTER_OPTION_VALIDATION', 'FILTER_OPTION_CHECKPOINT_OR_VALIDATION',
] as const;

export function addTrialRoutes(router: Router, master: MasterContext): void {
  const { store } = master;

  router.get('/api/v1/trials/:id', authed(master, (ctx) => {
    sendJson(ctx.res, 200, { trial: trialJson(store, trialOr404(store, ctx.params.id)) });
  }));

  router.get('/api/v1/trials/:id/checkpoints', authed(master, (ctx) => {
    const trial = trialOr404(store, ctx.params.id);
    const exp = experimentOr404(store, String(trial.experimentId));
    const list = sortCheckpoints(exp, store.state.checkpoints.filter((c) => c.trialId === trial.id), ctx);
    const { page, pagination } = paginate(list, pageParams(ctx.query));
    sendJson(ctx.res, 200, { checkpoints: page.map((c) => checkpointJson(store, c)), pagination });
  }));

  router.get('/api/v1/trials/:id/workloads', authed(master, (ctx) => {
    const trial = trialOr404(store, ctx.params.id);
    const checkpoints = trial.checkpointUuids.map((u) => store.checkpoint(u)).filter((c): c is CheckpointRecord => !!c);
    const workloads = trialWorkloads(trial, checkpoints, ctx.query);
    const params = pageParams(ctx.query);
    // GetTrialWorkloads turns limit 0 into -1 (no limit) before paging.
    const { page, pagination } = pageInfo(workloads, { ...params, limit: params.limit === 0 ? -1 : params.limit });
    sendJson(ctx.res, 200, { workloads: page.map((w) => w.json), pagination });
  }));

  router.get('/api/v1/trials/:id/logs', authed(master, (ctx) => streamTrialLogs(master, ctx)));
}

interface Workload {
  json: Record<string, unknown>;
  totalBatches: number;
  endTime: string;
  sortValue: number | null;
}

/**
 * The trial's training, validation and checkpoint workloads as proto_get_trial_workloads.sql lists them: the
 * filter keeps validations always, trainings only unfiltered, checkpoints unless VALIDATION; ordered by
 * `sortKey` (a metric; NULLS LAST) or by batches, then batches and end time, all in `orderBy`'s direction.
 */
function trialWorkloads(trial: TrialRecord, checkpoints: CheckpointRecord[], query: URLSearchParams): Workload[] {
  const filter = enumParam(query.get('filter'), 'filter', WORKLOAD_FILTERS, 'FILTER_OPTION_UNSPECIFIED');
  const orderBy = enumParam(query.get('orderBy'), 'orderBy', ORDER_BY, 'ORDER_BY_UNSPECIFIED');
  const sortKey = query.get('sortKey') ?? '';
  const byMetric = sortKey !== '' && sortKey !== 'batches';
  const metricOf = (r: MetricsReport) => (byMetric && typeof r.metrics[sortKey] === 'number' ? r.metrics[sortKey] : null);
  const removeDeleted = query.get('removeDeletedCheckpoints') === 'true';

  const out: Workload[] = [];
  if (filter === 'FILTER_OPTION_UNSPECIFIED') {
    for (const r of trial.trainingMetrics) {
      out.push({ json: { training: metricsWorkloadJson(r) }, totalBatches: r.steps, endTime: r.time, sortValue: byMetric ? metricOf(r) : r.steps });
    }
  }
  if (filter !== 'FILTER_OPTION_VALIDATION') {
    for (const c of checkpoints) {
      if (removeDeleted && c.state === 'STATE_DELETED') continue;
      const json = checkpointWorkloadJson(c);
      const batches = json.totalBatches as number;
      out.push({ json: { checkpoint: json }, totalBatches: batches, endTime: c.reportTime, sortValue: byMetric ? null : batches });
    }
  }
  for (const r of trial.validationMetrics) {
    out.push({ json: { validation: metricsWorkloadJson(r) }, totalBatches: r.steps, endTime: r.time, sortValue: byMetric ? metricOf(r) : r.steps });
  }
  const direction = orderBy === 'ORDER_BY_DESC' ? -1 : 1;
  return out.sort((a, b) => {
    if (a.sortValue === null || b.sortValue === null) {
      if (a.sortValue !== b.sortValue) return a.sortValue === null ? 1 : -1; // NULLS LAST in both directions
    } else if (a.sortValue !== b.sortValue) {
      return direction * (a.sortValue - b.sortValue);
    }
    if (a.totalBatches !== b.totalBatches) return direction * (a.totalBatches - b.totalBatches);
    return direction * (a.endTime < b.endTime ? -1 : a.endTime > b.endTime ? 1 : 0);
  });
}

interface StoredLogLine {
  timestamp: string;
  level: string;
  log: string;
}

function logResult(trial: TrialRecord, index: number, line: StoredLogLine): { result: Record<string, unknown> } {
  return { result: { id: String(index + 1), timestamp: line.timestamp, message: line.log, level: line.level, trialId: trial.id, log: line.log } };
}

/**
 * TrialLogs as NDJSON `{"result": TrialLogsResponse}` lines, oldest first; `follow=true` tails until the trial
 * ends. `orderBy=ORDER_BY_DESC` sends the newest first: `det trial logs --tail N` asks for that (with limit N)
 * and reverses what it gets.
 */
async function streamTrialLogs(master: MasterContext, ctx: RequestContext): Promise<void> {
  const { store } = master;
  const trial = trialOr404(store, ctx.params.id);
  const follow = ctx.query.get('follow') === 'true';
  const limit = intParam(ctx.query.get('limit'), 'limit', 0);
  if (limit < 0) throw apiError('InvalidArgument', 'Limit must be >= 0'); // grpcutil.ValidateLimit
  const orderBy: OrderBy = enumParam(ctx.query.get('orderBy'), 'orderBy', ORDER_BY, 'ORDER_BY_UNSPECIFIED');
  const file = store.trialLogPath(trial.id);
  const readLines = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  let closed = false;
  ctx.req.on('close', () => (closed = true));
  ctx.res.writeHead(200, { 'content-type': 'application/json' });

  if (orderBy === 'ORDER_BY_DESC') {
    const lines = readLines();
    const count = limit > 0 ? Math.min(limit, lines.length) : lines.length;
    for (let i = lines.length - 1; i >= lines.length - count && !closed; i--) {
      await writeNdjsonLine(ctx.res, logResult(trial, i, JSON.parse(lines[i]) as StoredLogLine));
    }
    ctx.res.end();
    return;
  }

  let sent = 0;
  for (;;) {
    const lines = readLines();
    for (; sent < lines.length && !closed; sent++) {
      if (limit > 0 && sent >= limit) break;
      await writeNdjsonLine(ctx.res, logResult(trial, sent, JSON.parse(lines[sent]) as StoredLogLine));
    }
    const exp = store.experiment(trial.experimentId);
    const done = !exp || TERMINAL_STATES.includes(exp.state);
    if (!follow || closed || (limit > 0 && sent >= limit) || (done && sent >= lines.length)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  ctx.res.end();
}
