// Paths an operator leaves out of a training (`ct retry --exclude`), as globs over Pachyderm paths.
// The same rules are implemented by the example experiment's data loader (experiments/shapes/
// pachyderm_data.py, `excluded`), so the workflow's diff and the files the experiment reads agree:
//   `*` and `?` match within one path segment, `**` across segments (`**/` also none); a leading `/` is implied;
//   a pattern that names a directory also excludes everything under it.

/** At most this many patterns: they travel in workflow inputs and the experiment's config. */
export const MAX_EXCLUDE_PATTERNS = 20;
const MAX_PATTERN_LENGTH = 256;

/** Why a pattern cannot be used, or null when it can. */
export function checkExcludePattern(pattern: unknown): string | null {
  if (typeof pattern !== 'string' || pattern.trim() === '' || pattern === '/') return 'an exclude pattern must name a path (e.g. /images/broken.pgm or /images/**/*.tmp)';
  if (pattern.length > MAX_PATTERN_LENGTH) return `an exclude pattern is at most ${MAX_PATTERN_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return `exclude pattern ${JSON.stringify(pattern)} contains a control character`;
  return null;
}

/** Why a list of patterns cannot be used, or null. */
export function checkExcludePatterns(patterns: unknown): string | null {
  if (!Array.isArray(patterns)) return 'exclude must be a list of path patterns';
  if (patterns.length > MAX_EXCLUDE_PATTERNS) return `at most ${MAX_EXCLUDE_PATTERNS} exclude patterns`;
  for (const p of patterns) {
    const problem = checkExcludePattern(p);
    if (problem) return problem;
  }
  return null;
}

/** A predicate telling whether a path (`/dir/file`) is excluded by any of the patterns. */
export function pathExcluder(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const regexes = patterns.map(globToRegExp);
  return (path) => {
    const p = path.startsWith('/') ? path : `/${path}`;
    return regexes.some((r) => r.test(p));
  };
}

function globToRegExp(pattern: string): RegExp {
  let glob = pattern.startsWith('/') ? pattern : `/${pattern}`;
  if (glob.length > 1 && glob.endsWith('/')) glob = glob.slice(0, -1);
  // A directory's pattern excludes what is under it.
  return new RegExp(`^${globSource(glob)}(?:/.*)?$`, 's');
}

// The regular expression (source) of a glob over `/`-separated paths: `*` and `?` within one segment,
// `**` across segments (`**/` also matches no directory at all). Shared with the .detignore rules.
export function globSource(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') {
        re = re.slice(0, -2) + '(?:.*/)?';
        i++;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return re;
}
