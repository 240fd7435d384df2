// Durations from workflow input (`5s`, `10m`): an invalid one is a bad input, not something to retry.
import { parseDuration } from '../common/duration';
import { nonRetryable } from './http/errors';

export function durationMs(text: string, what: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw nonRetryable('BadRequest', `invalid ${what} ${JSON.stringify(text)}: use e.g. 500ms, 5s, 10m, 2h, 1d`);
  return ms;
}
