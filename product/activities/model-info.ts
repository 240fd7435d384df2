// model-info.yaml: written next to the checkpoint by publishModel, read back by readModelInfo.
import yaml from 'js-yaml';
import type { ModelInfo } from '../common/types';
import { ErrorType } from '../common/errors';
import { failure } from './http/errors';

export const MODEL_INFO_PATH = '/model-info.yaml';

/** Sorted keys, like the original's yaml.safe_dump. */
export function dumpModelInfo(info: ModelInfo): string {
  return yaml.dump(info, { sortKeys: true, lineWidth: -1 });
}

/** Parses and checks model-info.yaml; `where` names the file in error messages. */
export function parseModelInfo(text: string, where: string): ModelInfo {
  const invalid = (problem: string) => failure(ErrorType.InvalidModelInfo, `${where}: ${problem}`, true);
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw invalid(`not valid YAML: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('not a YAML mapping');
  const d = doc as Record<string, unknown>;
  const problems: string[] = [];
  // YAML may read a hex-looking commit id as a number: accept scalars and keep their text.
  const str = (key: string): string => {
    const v = d[key];
    if ((typeof v === 'string' && v) || typeof v === 'number') return String(v);
    problems.push(`${key} (a non-empty string) is missing`);
    return '';
  };
  const optStr = (key: string): string | null => {
    const v = d[key];
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    problems.push(`${key} must be a string or null`);
    return null;
  };
  const int = (key: string): number => {
    const v = d[key];
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    problems.push(`${key} (an integer) is missing`);
    return 0;
  };
  const info: ModelInfo = {
    name: str('name'),
    pipeline: str('pipeline'),
    repo: str('repo'),
    version: str('version'),
    registryVersion: int('registryVersion'),
    checkpointUuid: str('checkpointUuid'),
    experimentId: int('experimentId'),
    inputCommit: optStr('inputCommit') ?? String(d.version ?? ''),
    baseCommit: optStr('baseCommit'),
    metric: null,
    searcherMetric: optStr('searcherMetric'),
    smallerIsBetter: null,
  };
  if (typeof d.smallerIsBetter === 'boolean') info.smallerIsBetter = d.smallerIsBetter;
  else if (d.smallerIsBetter !== undefined && d.smallerIsBetter !== null) problems.push('smallerIsBetter must be true, false or null');
  if (d.metric !== undefined && d.metric !== null) {
    if (typeof d.metric === 'number') info.metric = d.metric;
    else problems.push('metric must be a number or null');
  }
  if (problems.length > 0) throw invalid(`incomplete or malformed: ${problems.join('; ')}`);
  return info;
}
