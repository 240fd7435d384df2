// Deterministic workflow ids: business ids, so a repeated signal or start lands on the same execution.
// Injective: two different pipelines, commits or deployments never share an id. Each part is escaped
// (anything but letters, digits, `.`, `_` and `-` percent-encoded, `%` included), and the parts are
// joined by `/` and `@`, which an escaped part cannot contain: `img-a@master` and `img@a-master` differ.
import type { RepoRef } from './pipeline';

/** A name as one part of an id: readable for usual names, percent-encoded otherwise (so reversible). */
function part(s: string): string {
  // encodeURIComponent leaves `!~*'()` as they are: encode those too. (Workflow code: no Buffer here.)
  return encodeURIComponent(s).replace(/[!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The long-lived workflow watching one input repository and branch. */
export function repositoryWorkflowId(repo: RepoRef): string {
  return `ct-repo-${part(repo.project)}/${part(repo.repo)}@${part(repo.branch)}`;
}

/** The training of one model on one input commit. */
export function trainingWorkflowId(modelName: string, commit: string): string {
  return `ct-train-${part(modelName)}@${part(commit)}`;
}

/** The long-lived workflow that deploys to one Seldon deployment name, one rollout at a time. */
export function deploymentQueueWorkflowId(namespace: string, deploymentName: string): string {
  return `ct-deployer-${part(namespace)}/${part(deploymentName)}`;
}

/** One rollout of one output commit to a deployment. */
export function deploymentWorkflowId(namespace: string, deploymentName: string, outputCommit: string): string {
  return `ct-deploy-${part(namespace)}/${part(deploymentName)}@${part(outputCommit)}`;
}

export const TASK_QUEUE = 'continuous-training';

/** A commit id as requests may carry one (Pachyderm's are 32 hex digits; tests use shorter ones). */
export function isCommitId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(value);
}
