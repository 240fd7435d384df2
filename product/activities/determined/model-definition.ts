// Builds CreateExperimentRequest.modelDefinition from an experiment directory, the way the Determined CLI
// does: every file and directory not excluded by `.detignore`, bounded in total size like the master's limit.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ErrorType } from '../../common/errors';
import { globSource } from '../../common/path-filter';
import { failure } from '../http/errors';
import type { ModelDefinitionFile } from './types';

/** The master refuses model definitions above 96 MiB; fail early with a clear message. */
export const MAX_MODEL_DEFINITION_BYTES = 96 * 1024 * 1024;

const TAR_FILE = 48; // '0'
const TAR_DIR = 53; // '5'

export interface DefinitionEntry {
  /** Relative POSIX path. */
  path: string;
  absolute: string;
  isDir: boolean;
  size: number;
  mode: number;
  mtime: number;
}

/** Lists what would be uploaded (sorted), without reading file contents. */
export async function listModelDefinition(dir: string): Promise<DefinitionEntry[]> {
  const ignore = await loadDetignore(dir);
  const entries: DefinitionEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await fsp.readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const d of names) {
      const relPath = rel ? `${rel}/${d.name}` : d.name;
      if (!d.isFile() && !d.isDirectory()) continue; // symlinks and specials are not uploaded
      if (ignore(relPath, d.isDirectory())) continue;
      const absolute = path.join(dir, relPath);
      const st = await fsp.stat(absolute);
      entries.push({ path: relPath, absolute, isDir: d.isDirectory(), size: d.isFile() ? st.size : 0, mode: st.mode & 0o777, mtime: Math.floor(st.mtimeMs / 1000) });
      if (d.isDirectory()) await walk(relPath);
    }
  };
  await walk('');
  return entries;
}

export async function buildModelDefinition(dir: string): Promise<ModelDefinitionFile[]> {
  const entries = await listModelDefinition(dir);
  const total = entries.reduce((sum, e) => sum + e.size, 0);
  if (total > MAX_MODEL_DEFINITION_BYTES) {
    throw failure(
      ErrorType.InvalidConfig,
      `the experiment directory holds ${total} bytes, more than the ${MAX_MODEL_DEFINITION_BYTES} a model definition may have: list data and large files in .detignore`,
      true,
    );
  }
  const files: ModelDefinitionFile[] = [];
  for (const e of entries) {
    files.push({
      path: e.path,
      type: e.isDir ? TAR_DIR : TAR_FILE,
      content: e.isDir ? '' : (await fsp.readFile(e.absolute)).toString('base64'),
      mtime: e.mtime,
      mode: e.mode,
      uid: 0,
      gid: 0,
    });
  }
  return files;
}

/**
 * A `.detignore` matcher with gitignore's common rules: `#` comments, `!` negation (last match wins),
 * a trailing `/` for directories only, a pattern holding `/` anchored at the root, `*`, `?` and `**`.
 */
async function loadDetignore(dir: string): Promise<(relPath: string, isDir: boolean) => boolean> {
  const file = path.join(dir, '.detignore');
  if (!fs.existsSync(file)) return () => false;
  const rules = (await fsp.readFile(file, 'utf8'))
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      let pattern = negate ? line.slice(1) : line;
      const dirOnly = pattern.endsWith('/');
      pattern = pattern.replace(/\/+$/, '');
      const anchored = pattern.includes('/');
      pattern = pattern.replace(/^\//, '');
      return { negate, dirOnly, anchored, regex: globToRegex(pattern) };
    });
  return (relPath, isDir) => {
    let ignored = false;
    const base = relPath.slice(relPath.lastIndexOf('/') + 1);
    for (const rule of rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.regex.test(rule.anchored ? relPath : base)) ignored = !rule.negate;
    }
    return ignored;
  };
}

function globToRegex(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`);
}
