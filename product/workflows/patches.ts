// Ids of the patched() changes in the workflows. A patch id stays until no running execution can have
// started before its change: then deprecatePatch(id), later the plain new code. test/replay checks that
// the recorded histories cover both sides of each (histories without the marker, and with it).
// None is open: the three earlier ones (local lookupModel, concurrent local deployment reads, concurrent
// detectors) were folded into the code before the first release, and every history re-recorded
// (workflows/README.md, "Versioning").
/** The deployer starts each rollout with the CtPipeline search attribute (issue 15). */
export const DEPLOYMENT_PIPELINE_ATTRIBUTE = 'deployment-pipeline-attribute';

export const PATCH_IDS: readonly string[] = [DEPLOYMENT_PIPELINE_ATTRIBUTE];
