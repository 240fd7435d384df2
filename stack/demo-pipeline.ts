// The demo's pipeline: the example config with the local experiment repository and serving image.
import fs from 'node:fs';
import path from 'node:path';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { parsePipelinesConfig } from 'continuous-training/client/pipelines-config';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { DEMO_CREDENTIALS_SECRET, DEMO_NAMESPACE, DEMO_SERVING_IMAGE } from './local-stack';

export function demoPipeline(experimentRepo: string, overrides: { pollInterval?: string } = {}): PipelineSpec {
  const example = fs.readFileSync(path.join(projectRoot, 'config', 'pipelines.example.yaml'), 'utf8');
  const text = example
    .replace(/gitUrl: .*/, `gitUrl: ${JSON.stringify(experimentRepo)}`)
    .replace(/path: experiments\/shapes/, 'path: .')
    .replace(/servingImage: .*/, `servingImage: ${DEMO_SERVING_IMAGE}`)
    .replace(/credentialsSecret: \S+/, `credentialsSecret: ${DEMO_CREDENTIALS_SECRET}`)
    .replace(/namespace: seldon/, `namespace: ${DEMO_NAMESPACE}`)
    .replace(/readyTimeout: .*/, 'readyTimeout: 3m')
    .replace(/pollInterval: .*/, `pollInterval: ${overrides.pollInterval ?? '1s'}`);
  const [pipeline] = parsePipelinesConfig(text, 'demo pipeline (from config/pipelines.example.yaml)');
  return pipeline;
}
