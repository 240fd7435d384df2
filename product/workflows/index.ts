// Every workflow the worker registers. Deterministic code only (enforced by ESLint).
export {
  repositoryWorkflow,
  newCommitUpdate,
  retryCommitUpdate,
  overrideTrainingUpdate,
  applyPipelineUpdate,
  newCommitSignal,
  pauseSignal,
  resumeSignal,
  repositoryStatusQuery,
} from './repository';
export { trainingWorkflow, trainingStatusQuery } from './training';
export { deployerWorkflow, deployUpdate, applyDeploymentUpdate, deployRequestSignal, deployerStatusQuery } from './deployer';
export { deploymentWorkflow, deploymentStatusQuery } from './deployment';
