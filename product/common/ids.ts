// Deterministic workflow ids: business ids, so a repeated signal or start lands on the same execution.
import type { RepoRef } from './pipeline';

/** Temporal ids may hold most characters, but keep them readable and free of separators we use. */
function part(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The long-lived workflow watching one input repository and branch. */
export function repositoryWorkflowId(repo: RepoRef): string {
  return `ct-repo-${part(repo.project)}-${part(repo.repo)}-${part(repo.branch)}`;
}

/** The training of one model on one input commit. */
export function trainingWorkflowId(modelName: string, commit: string): string {
  return `ct-train-${part(modelName)}-${part(commit)}`;
}

/** The long-lived workflow that deploys to one Seldon deployment name, one rollout at a time. */
export function deploymentQueueWorkflowId(namespace: string, deploymentName: string): string {
  return `ct-deployer-${part(namespace)}-${part(deploymentName)}`;
}

/** One rollout of one output commit to a deployment. */
export function deploymentWorkflowId(namespace: string, deploymentName: string, outputCommit: string): string {
  return `ct-deploy-${part(namespace)}-${part(deploymentName)}-${part(outputCommit)}`;
}

export const TASK_QUEUE = 'continuous-training';
