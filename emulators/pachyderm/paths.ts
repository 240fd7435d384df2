// PFS paths: cleaning and validation as pachd does them, directory relations, and glob matching.
import { invalidArgument } from './errors';

/**
 * pachd's CleanPath: a leading slash, no trailing slash, `.`/`..` and repeated slashes resolved.
 * The root is `/`.
 */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/**
 * Paths of files written by ModifyFile. Tabs, newlines and NULs are refused: the emulator's file
 * tables are line-based, and pachd refuses control characters in file names too.
 */
export function validateFilePath(raw: string, field: string): string {
  if (typeof raw !== 'string') throw invalidArgument(`${field} must be a string`);
  if (/[\x00-\x1f\x7f]/.test(raw)) throw invalidArgument(`${field} ${JSON.stringify(raw)} contains control characters`);
  const p = cleanPath(raw);
  if (p === '/') throw invalidArgument(`${field} must name a file, not the root directory`);
  return p;
}

/** Index key of a directory: its path with a trailing slash, as pachd's file sets list directories. */
export function dirKey(p: string): string {
  return p === '/' ? '/' : p + '/';
}

/** Parent directory keys of a file path, outermost first: `/a/b/c` -> [`/`, `/a/`, `/a/b/`]. */
export function ancestorDirKeys(filePath: string): string[] {
  const keys = ['/'];
  let i = filePath.indexOf('/', 1);
  while (i >= 0) {
    keys.push(filePath.slice(0, i + 1));
    i = filePath.indexOf('/', i + 1);
  }
  return keys;
}

/** True if `key` (a file path or a directory key) is `dir` itself or lies under it. */
export function isUnder(key: string, dirPath: string): boolean {
  if (dirPath === '/') return true;
  return key === dirPath || key === dirPath + '/' || key.startsWith(dirPath + '/');
}

/** True if `key` is a direct child of directory `dirPath` (a file `/d/x` or a directory `/d/x/`). */
export function isDirectChild(key: string, dirPath: string): boolean {
  const prefix = dirKey(dirPath);
  if (!key.startsWith(prefix) || key === prefix) return false;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  return slash < 0 || slash === rest.length - 1;
}

/** The last path segment (without the trailing slash of a directory key). */
export function baseName(key: string): string {
  const trimmed = key.endsWith('/') && key !== '/' ? key.slice(0, -1) : key;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/**
 * Compiles a pachd glob (doublestar semantics: `*` and `?` stay within a segment, `**` crosses
 * segments, `[...]` classes, `{a,b}` alternatives) into a matcher of index keys (files `/a`,
 * directories `/a/`, the root `/`).
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const glob = cleanPath(pattern);
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `/**/` may match a single slash, `**` at the end matches everything below.
        if (glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) throw invalidArgument(`invalid glob pattern ${JSON.stringify(pattern)}: unclosed [`);
      let cls = glob.slice(i + 1, end);
      if (cls.startsWith('!') || cls.startsWith('^')) cls = '^' + cls.slice(1);
      re += '[' + cls.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else if (c === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end < 0) throw invalidArgument(`invalid glob pattern ${JSON.stringify(pattern)}: unclosed {`);
      const alts = glob
        .slice(i + 1, end)
        .split(',')
        .map((a) => a.replace(/[.+^${}()|[\]\\*?]/g, '\\$&'));
      re += '(?:' + alts.join('|') + ')';
      i = end;
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  const regex = new RegExp('^' + re + '$');
  // As pachd's globMatchFunction (src/server/pfs/server/paths.go): trailing slashes are trimmed before
  // matching, so a directory matches as `/a` and the root as "", which no glob but `/` matches (`/*`,
  // `*` and `/**` do not list the root).
  return (key) => (key === '/' ? glob === '/' : regex.test(key.replace(/\/+$/, '')));
}

/** The literal part of a glob before its first special character (to bound index scans). */
export function globLiteralPrefix(pattern: string): string {
  const glob = cleanPath(pattern);
  const i = glob.search(/[*?[{]/);
  return i < 0 ? glob : glob.slice(0, i);
}
