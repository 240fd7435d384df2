// Ids of the patched() changes in the workflows. A patch id stays until no running execution can have
// started before its change: then deprecatePatch(id), later the plain new code. test/replay checks that
// the recorded histories cover both sides of each (histories without the marker, and with it).
/** trainingWorkflow: lookupModel runs as a local activity. */
export const LOOKUP_MODEL_LOCAL = 'training-lookup-model-local-activity';
/** deploymentWorkflow: readModelInfo and getDeployedModel run concurrently, as local activities. */
export const DEPLOYMENT_READS_LOCAL = 'deployment-reads-concurrent-local-activities';
/** deploymentWorkflow: the drift and outlier detectors are replaced concurrently. */
export const DETECTORS_CONCURRENT = 'deployment-detectors-concurrent';

/** repositoryWorkflow, deployerWorkflow: children get injective ids (common/ids.ts; legacyIds before). */
export const INJECTIVE_WORKFLOW_IDS = 'injective-workflow-ids';

/** deploymentWorkflow: with the promotion gate on, a version without a metric is not deployed over one with a metric. */
export const GATE_REFUSES_MISSING_METRIC = 'deployment-gate-refuses-missing-metric';

export const PATCH_IDS = [
  LOOKUP_MODEL_LOCAL,
  DEPLOYMENT_READS_LOCAL,
  DETECTORS_CONCURRENT,
  INJECTIVE_WORKFLOW_IDS,
  GATE_REFUSES_MISSING_METRIC,
] as const;
