// A pipeline spec for tests, with overrides.
import type { PipelineSpec } from '../../common/pipeline';

export function testPipeline(overrides: Partial<PipelineSpec> = {}): PipelineSpec {
  return {
    name: 'dogs-and-cats',
    input: { project: 'default', repo: 'dogs-and-cats', branch: 'master' },
    experiment: { gitUrl: 'file:///tmp/experiment', ref: 'main', path: '.', configFile: 'const.yaml' },
    modelName: 'dogs-and-cats',
    output: { project: 'default', repo: 'dogs-and-cats-model', branch: 'master' },
    deployment: {
      name: 'dogcat-deploy',
      namespace: 'seldon',
      servingImage: 'ct/serve:test',
      replicas: 1,
      credentialsSecret: 'det-credentials',
      strategy: 'replace',
      readyTimeout: '5m',
      promotionGate: false,
      drift: { storageUri: 'gs://b/seldon/drift_detector', batchSize: 4, replyUrl: 'http://seldon-request-logger.seldon-logs', protocol: 'seldon.http', httpPort: '8080', userPermission: 8888 },
      outlier: { storageUri: 'gs://b/seldon/outlier_detector', batchSize: 4, replyUrl: 'http://seldon-request-logger.seldon-logs', protocol: 'seldon.http', httpPort: '8080', userPermission: 8888 },
    },
    training: { mode: 'coalesce', pollInterval: '1s', timeout: '1h' },
    ...overrides,
  };
}
