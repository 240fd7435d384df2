// The master pages lists in two ways, and the emulator follows each where the master uses it:
// - `paginate`: api.Paginate in Go (master/internal/api/query.go, params.go CalculatePagination), used for
//   models, model versions and checkpoints. An offset outside [-total, total] is a 400 "offset out of bounds";
//   limit 0 means no limit.
// - `pageInfo`: the SQL function page_info (master/static/views_and_triggers/up/util.sql), used for
//   experiments, trials and trial workloads. An offset outside [-total, total] is clamped to the end (an empty
//   page, no error); limit 0 means 100, -1 no limit and -2 none.
import { apiError } from './errors';
import { intParam } from './context';

export interface PageParams {
  offset: number;
  limit: number;
}

export interface Page<T> {
  page: T[];
  pagination: { offset: number; limit: number; startIndex: number; endIndex: number; total: number };
}

/** The `offset` and `limit` query parameters (0 when absent). */
export function pageParams(query: URLSearchParams): PageParams {
  return { offset: intParam(query.get('offset'), 'offset', 0), limit: intParam(query.get('limit'), 'limit', 0) };
}

/** Go's api.Paginate: strict about the offset. */
export function paginate<T>(items: T[], { offset, limit }: PageParams): Page<T> {
  // The master would slice past its bounds (an internal error): refuse it clearly instead.
  if (limit < 0) throw apiError('InvalidArgument', 'limit must not be negative');
  const total = items.length;
  const start = offset < 0 ? total + offset : offset;
  if (start < 0 || start > total) throw apiError('InvalidArgument', 'offset out of bounds');
  const end = limit === 0 || start + limit > total ? total : start + limit;
  return { page: items.slice(start, end), pagination: { offset, limit, startIndex: start, endIndex: end, total } };
}

/** SQL page_info: lenient about the offset. */
export function pageInfo<T>(items: T[], { offset, limit }: PageParams): Page<T> {
  const total = items.length;
  const start = offset > total || offset < -total ? total : offset < 0 ? total + offset : offset;
  let end: number;
  if (limit === -2) end = start;
  else if (limit === -1) end = total;
  else if (limit === 0) end = Math.min(start + 100, total);
  else end = Math.max(start, Math.min(start + limit, total));
  return { page: items.slice(start, end), pagination: { offset, limit, startIndex: start, endIndex: end, total } };
}
