// Seldon Deploy's shapes: SeldonDeployment is the Kubernetes custom resource (camelCase); detector
// payloads are Seldon Deploy's own (snake_case).

export interface Parameter {
  name: string;
  type: 'STRING' | 'INT' | 'FLOAT' | 'DOUBLE' | 'BOOL';
  value: string;
}

export interface PredictiveUnit {
  name: string;
  type?: string;
  implementation?: string;
  modelUri?: string;
  parameters?: Parameter[];
  children?: PredictiveUnit[];
}

export interface Container {
  name: string;
  image: string;
  env?: { name: string; value: string }[];
  envFrom?: { secretRef: { name: string } }[];
}

export interface Predictor {
  name: string;
  replicas?: number;
  traffic?: number;
  graph: PredictiveUnit;
  componentSpecs?: { spec: { containers: Container[] } }[];
}

export interface SeldonDeploymentStatus {
  state?: string;
  description?: string;
  observedGeneration?: number;
}

export interface SeldonDeployment {
  apiVersion: 'machinelearning.seldon.io/v1';
  kind: 'SeldonDeployment';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
  };
  spec: { name?: string; protocol?: string; predictors: Predictor[] };
  status?: SeldonDeploymentStatus;
}

export type DetectorKind = 'drift' | 'outlier';

export interface DetectorConfigData {
  name: string;
  config: {
    basic: { storage_uri: string; drift_batch_size: string };
    deployment: {
      model_name: string;
      event_type: string;
      event_source: string;
      reply_url: string;
      protocol: string;
      http_port: string;
      user_permission: number;
    };
  };
}

export interface DetectorData {
  name: string;
  namespace?: string;
  deployment_name?: string;
  detector_type?: string;
  status?: unknown;
  config?: DetectorConfigData['config'];
}
