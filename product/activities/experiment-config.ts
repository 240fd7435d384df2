// Reading the experiment config YAML from the cached experiment code.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { ErrorType } from '../common/errors';
import type { ExperimentSource } from '../common/pipeline';
import { failure } from './http/errors';

export type ExperimentConfig = Record<string, unknown>;

export async function readExperimentConfig(codeDir: string, source: ExperimentSource): Promise<ExperimentConfig> {
  const file = path.resolve(codeDir, source.configFile);
  const where = `${source.configFile} in ${source.gitUrl} (path ${JSON.stringify(source.path)}, ref ${JSON.stringify(source.ref)})`;
  if (!file.startsWith(codeDir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw failure(ErrorType.GitSource, `experiment config file ${where} does not exist`, true);
  }
  let config: unknown;
  try {
    config = yaml.load(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    throw failure(ErrorType.InvalidConfig, `experiment config ${where} is not valid YAML: ${(err as Error).message}`, true);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    throw failure(ErrorType.InvalidConfig, `experiment config ${where} must be a YAML mapping`, true);
  }
  return config as ExperimentConfig;
}

/** The searcher's metric and direction; Determined's default direction is smaller-is-better. */
export function searcherOf(config: ExperimentConfig, where: string): { metric: string; smallerIsBetter: boolean } {
  const searcher = config.searcher as Record<string, unknown> | undefined;
  const metric = searcher?.metric;
  if (typeof metric !== 'string' || !metric) {
    throw failure(ErrorType.InvalidConfig, `experiment config ${where} has no searcher.metric`, true);
  }
  const smaller = searcher?.smaller_is_better;
  return { metric, smallerIsBetter: typeof smaller === 'boolean' ? smaller : true };
}
