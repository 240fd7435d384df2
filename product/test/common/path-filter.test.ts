// The exclude patterns of `ct retry --exclude` / `ct rebase --exclude`: what they match and what they refuse.
// stack/test/experiment-data.test.ts checks that the example experiment's loader agrees on these cases.
import { checkExcludePattern, checkExcludePatterns, MAX_EXCLUDE_PATTERNS, pathExcluder } from '../../common/path-filter';
import { EXCLUDE_CASES } from './path-filter-cases';

test.each(EXCLUDE_CASES)('%s excludes %s: %s', (pattern, path, excluded) => {
  expect(pathExcluder([pattern])(path)).toBe(excluded);
});

test('no pattern excludes nothing; several patterns exclude what any of them matches', () => {
  expect(pathExcluder([])('/a.pgm')).toBe(false);
  const excluded = pathExcluder(['/bad.pgm', '/tmp/**']);
  expect(['/bad.pgm', '/tmp/x/y', '/good.pgm'].map(excluded)).toEqual([true, true, false]);
});

test('bad patterns are refused with the reason', () => {
  expect(checkExcludePattern('')).toMatch(/must name a path/);
  expect(checkExcludePattern('/')).toMatch(/must name a path/);
  expect(checkExcludePattern(7)).toMatch(/must name a path/);
  expect(checkExcludePattern('/a\nb')).toMatch(/control character/);
  expect(checkExcludePattern(`/${'x'.repeat(300)}`)).toMatch(/at most 256 characters/);
  expect(checkExcludePatterns('/a')).toMatch(/must be a list/);
  expect(checkExcludePatterns(Array.from({ length: MAX_EXCLUDE_PATTERNS + 1 }, (_, i) => `/f${i}`))).toMatch(/at most 20 exclude patterns/);
  expect(checkExcludePatterns(['/a', '/b/**'])).toBeNull();
});
