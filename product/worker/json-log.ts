// One JSON log schema for the worker, the watcher and the CLI: one object a line on stderr, with
// `time`, `level`, `message`, and where they apply `workflowId`, `runId`, `pipeline`, `activity`; any
// other fields follow. The SDK's own names (workflowRunId, activityType) are mapped onto these.
export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  time: string;
  level: Level;
  message: string;
  workflowId?: string;
  runId?: string;
  pipeline?: string;
  activity?: string;
  [field: string]: unknown;
}

const LEVELS: Record<string, Level> = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error' };

/** The record for one event: `fields` may use the SDK's names; `time` defaults to now. */
export function logRecord(level: string, message: string, fields: Record<string, unknown> = {}, time = new Date()): LogRecord {
  const { workflowRunId, activityType, taskToken: _token, level: _level, message: _message, time: _time, ...rest } = fields;
  const record: LogRecord = { time: time.toISOString(), level: LEVELS[level.toLowerCase()] ?? 'info', message };
  // The schema's fields first, in a fixed order, then the rest.
  const runId = rest.runId ?? workflowRunId;
  const activity = rest.activity ?? activityType;
  for (const [k, v] of [['workflowId', rest.workflowId], ['runId', runId], ['pipeline', rest.pipeline], ['activity', activity]] as const) {
    if (typeof v === 'string' && v) record[k] = v;
  }
  for (const [k, v] of Object.entries(rest)) if (!(k in record) && v !== undefined) record[k] = typeof v === 'bigint' ? String(v) : v;
  return record;
}

/** Writes one record as a line on stderr. */
export function writeLog(level: string, message: string, fields: Record<string, unknown> = {}, time?: Date): void {
  process.stderr.write(JSON.stringify(logRecord(level, message, fields, time)) + '\n');
}

/** Node's process warnings (deprecations, listener leaks) as records of this schema instead of free text. */
export function logProcessWarnings(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => writeLog('warn', w.message, { warning: w.name, ...(('code' in w && w.code) ? { code: w.code } : {}) }));
}
