// The SeldonDeployment this project writes, and what it records about the deployed model: annotations
// hold the facts (any text), labels a Kubernetes-safe copy of the ones worth selecting on.
import yaml from 'js-yaml';
import type { DeployedModel, DeploymentSettings, ModelInfo } from '../../common/types';
import type { SeldonDeployment } from './types';

const PREFIX = 'continuous-training.io';
export const ANNOTATION = {
  modelName: `${PREFIX}/model-name`,
  registryVersion: `${PREFIX}/registry-version`,
  version: `${PREFIX}/version`,
  metric: `${PREFIX}/metric`,
  outputCommit: `${PREFIX}/output-commit`,
  checkpointUuid: `${PREFIX}/checkpoint-uuid`,
  /** JSON of the DeployedModel this resource replaced, so a retried deploy still reports it. */
  previous: `${PREFIX}/previous`,
} as const;

export function buildSeldonDeployment(
  deployment: DeploymentSettings,
  info: ModelInfo,
  outputCommit: string,
  previous: DeployedModel | null,
): SeldonDeployment {
  const container = `${deployment.name}-container`;
  return {
    apiVersion: 'machinelearning.seldon.io/v1',
    kind: 'SeldonDeployment',
    metadata: {
      name: deployment.name,
      namespace: deployment.namespace,
      labels: {
        [`${PREFIX}/managed`]: 'true',
        [ANNOTATION.registryVersion]: String(info.registryVersion),
        [ANNOTATION.version]: labelValue(info.version),
      },
      annotations: {
        [ANNOTATION.modelName]: info.name,
        [ANNOTATION.registryVersion]: String(info.registryVersion),
        [ANNOTATION.version]: info.version,
        [ANNOTATION.metric]: info.metric === null ? '' : String(info.metric),
        [ANNOTATION.outputCommit]: outputCommit,
        [ANNOTATION.checkpointUuid]: info.checkpointUuid,
        [ANNOTATION.previous]: previous ? JSON.stringify(previous) : '',
      },
    },
    spec: {
      name: deployment.name,
      predictors: [
        {
          name: 'default',
          replicas: deployment.replicas,
          traffic: 100,
          componentSpecs: [
            {
              spec: {
                containers: [
                  {
                    name: container,
                    image: deployment.servingImage,
                    // Registry credentials come from the secret: no password in the resource.
                    envFrom: [{ secretRef: { name: deployment.credentialsSecret } }],
                    env: [{ name: 'MODEL_METADATA', value: modelMetadata(info) }],
                  },
                ],
              },
            },
          ],
          graph: {
            name: container,
            type: 'MODEL',
            parameters: [
              { name: 'model_name', type: 'STRING', value: info.name },
              { name: 'model_version', type: 'STRING', value: info.version },
              { name: 'model_registry_version', type: 'STRING', value: String(info.registryVersion) },
              { name: 'checkpoint_uuid', type: 'STRING', value: info.checkpointUuid },
            ],
          },
        },
      ],
    },
  };
}

/** What is deployed according to the annotations this project writes; null for a resource it did not write. */
export function deployedModelOf(sdep: SeldonDeployment): DeployedModel | null {
  const a = sdep.metadata.annotations ?? {};
  const registryVersion = Number(a[ANNOTATION.registryVersion]);
  if (!a[ANNOTATION.modelName] || !a[ANNOTATION.version] || !Number.isInteger(registryVersion)) return null;
  const metric = a[ANNOTATION.metric] ? Number(a[ANNOTATION.metric]) : NaN;
  const state = sdep.status?.state;
  return {
    deploymentName: sdep.metadata.name,
    namespace: sdep.metadata.namespace,
    modelName: a[ANNOTATION.modelName],
    registryVersion,
    version: a[ANNOTATION.version],
    metric: Number.isFinite(metric) ? metric : null,
    outputCommit: a[ANNOTATION.outputCommit] ?? '',
    state: state === 'Available' || state === 'Creating' || state === 'Failed' ? state : 'Unknown',
  };
}

export function previousOf(sdep: SeldonDeployment): DeployedModel | null {
  const text = sdep.metadata.annotations?.[ANNOTATION.previous];
  if (!text) return null;
  try {
    return JSON.parse(text) as DeployedModel;
  } catch {
    return null;
  }
}

/** The original's MODEL_METADATA (served by seldon-core's /metadata), plus the registry facts. */
function modelMetadata(info: ModelInfo): string {
  const doc = {
    name: info.name,
    versions: [info.version],
    platform: 'seldon',
    custom: {
      repository: info.repo,
      pipeline: info.pipeline,
      registry_version: String(info.registryVersion),
      checkpoint_uuid: info.checkpointUuid,
    },
  };
  return `---\n${yaml.dump(doc, { lineWidth: -1 })}`;
}

/** Kubernetes label values: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends. */
function labelValue(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
