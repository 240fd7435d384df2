// Custom search attributes, so the Temporal UI and `ct list` can filter runs by what they are about.
// The dev server started by the demo registers these; on a real cluster, register them once with
// `temporal operator search-attribute create` (see README).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CtPipeline = defineSearchAttributeKey('CtPipeline', SearchAttributeType.KEYWORD);
export const CtRepo = defineSearchAttributeKey('CtRepo', SearchAttributeType.KEYWORD);
export const CtCommit = defineSearchAttributeKey('CtCommit', SearchAttributeType.KEYWORD);
export const CtModelName = defineSearchAttributeKey('CtModelName', SearchAttributeType.KEYWORD);
export const CtModelVersion = defineSearchAttributeKey('CtModelVersion', SearchAttributeType.INT);
export const CtExperimentId = defineSearchAttributeKey('CtExperimentId', SearchAttributeType.INT);
export const CtDeploymentName = defineSearchAttributeKey('CtDeploymentName', SearchAttributeType.KEYWORD);
export const CtStep = defineSearchAttributeKey('CtStep', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [
  CtPipeline,
  CtRepo,
  CtCommit,
  CtModelName,
  CtModelVersion,
  CtExperimentId,
  CtDeploymentName,
  CtStep,
];
