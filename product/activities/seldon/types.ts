// Seldon Deploy's shapes: SeldonDeployment is the Kubernetes custom resource (camelCase); detector
// payloads are Seldon Deploy's own (snake_case).

// The resource and the detectors as they are on the wire: shared with the emulator.
export type {
  Condition,
  Container,
  DeploymentState,
  DetectorData,
  DetectorKind,
  Parameter,
  PredictiveUnit,
  PredictorSpec,
  SeldonDeployment,
  SeldonDeploymentStatus,
} from '@continuous-training/api-types/seldon';

/** The body the product sends to create a detector (Deploy's DetectorConfigData, with every field it sets). */
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
