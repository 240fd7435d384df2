// Ids of the patched() changes in the workflows. A patch id stays until no running execution can have
// started before its change: then deprecatePatch(id), later the plain new code. test/replay checks that
// the recorded histories cover both sides of each (histories without the marker, and with it).
/** trainingWorkflow: lookupModel runs as a local activity. */
export const LOOKUP_MODEL_LOCAL = 'training-lookup-model-local-activity';
/** deploymentWorkflow: readModelInfo and getDeployedModel run concurrently, as local activities. */
export const DEPLOYMENT_READS_LOCAL = 'deployment-reads-concurrent-local-activities';
/** deploymentWorkflow: the drift and outlier detectors are replaced concurrently. */
export const DETECTORS_CONCURRENT = 'deployment-detectors-concurrent';

export const PATCH_IDS = [LOOKUP_MODEL_LOCAL, DEPLOYMENT_READS_LOCAL, DETECTORS_CONCURRENT] as const;
