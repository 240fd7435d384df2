// The SeldonDeployment custom resource (CRD v1, camelCase) and Seldon Deploy's detector payloads (snake_case).
// Objects may carry more fields than typed here.

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name?: string; key: string; optional?: boolean } };
}

export interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
  envFrom?: { prefix?: string; secretRef?: { name?: string; optional?: boolean } }[];
}

export interface Parameter {
  name: string;
  type: string;
  value: string;
}

export interface PredictiveUnit {
  name: string;
  type?: string;
  implementation?: string;
  modelUri?: string;
  envSecretRefName?: string;
  parameters?: Parameter[];
  children?: PredictiveUnit[];
}

export interface PredictorSpec {
  name: string;
  graph: PredictiveUnit;
  componentSpecs?: { spec?: { containers?: Container[] } }[];
  replicas?: number;
  traffic?: number;
  shadow?: boolean;
}

export interface ObjectMeta {
  name: string;
  /** Always set on what the API answers (the emulator fills it in from the path when a request omits it). */
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export type DeploymentState = 'Creating' | 'Available' | 'Failed';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  severity?: string;
}

export interface SeldonDeploymentStatus {
  state: DeploymentState;
  description?: string;
  address?: { url: string };
  deploymentStatus?: Record<string, { name: string; status: string; replicas: number; availableReplicas: number; description?: string }>;
  serviceStatus?: Record<string, { svcName: string; httpEndpoint: string; grpcEndpoint: string }>;
  conditions?: Condition[];
  /** Declared by the CRD (knative's duck Status) but never written by Seldon Core v1's controller. */
  observedGeneration?: number;
  replicas?: number;
}

export interface SeldonDeploymentSpec {
  name?: string;
  protocol?: string;
  predictors: PredictorSpec[];
  [key: string]: unknown;
}

export interface SeldonDeployment {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: SeldonDeploymentSpec;
  status?: SeldonDeploymentStatus;
}

export type DetectorKind = 'drift' | 'outlier';

/** Deploy's snake_case detector configuration (`DetectorConfiguration`). */
export interface DetectorConfiguration {
  basic?: Record<string, unknown>;
  deployment?: Record<string, unknown>;
}

/** Deploy's `DetectorData`, as returned by the detector routes. */
export interface DetectorData {
  name: string;
  namespace: string;
  deployment_name: string;
  deployment_kind: string;
  detector_type: string;
  status: string;
  config: DetectorConfiguration;
}
