// The pachd token an experiment config carries. Anyone who can read experiments in Determined can read
// their configs, so by default the config gets a token that is worth little: a robot's, minted for this
// run, that can only read the input repo (role repoReader) and expires once the run's training.timeout
// has passed. The worker's own token never reaches Determined unless PACHD_EXPERIMENT_TOKEN=worker.
import { ErrorType } from '../common/errors';
import type { RepoRef } from '../common/pipeline';
import type { Clients } from './clients';
import { durationMs } from './duration';
import { failure, failureStatus } from './http/errors';
import { repoOf } from './pachyderm/types';

/** What the worker's token needs for the default `robot` mode (pachd roles). */
export const ROBOT_TOKEN_ROLES = 'clusterAdmin, or robotUser on the cluster plus repoOwner on each input repo';

/** How long after the training deadline the robot token still works: the kill at the deadline takes a moment. */
export const EXPIRY_MARGIN_SECONDS = 600;

/** An input that predates `trainingTimeout` (a run started before this version) gets the pipelines' default. */
const DEFAULT_TRAINING_TIMEOUT = '24h';

/**
 * The reader robot of one input repo, `robot:ct-reader/<project>/<repo>`: pachd names cannot contain `/`,
 * so two repos never share one. Pipelines that read the same repo share it, and it only ever holds
 * repoReader on that repo: a pipeline whose input changes gets the other repo's robot, so no robot
 * gathers read rights on several repos (as one named after the pipeline would).
 */
export function readerRobot(repo: RepoRef): string {
  return `ct-reader/${repo.project}/${repo.repo}`;
}

/**
 * The token to put in the experiment config, or undefined for none (pachd auth off, or mode `none`).
 * Mints only when called: submitExperiment calls it on the path that creates an experiment.
 */
export async function experimentPachdToken(clients: Clients, input: { inputRepo: RepoRef; trainingTimeout?: string }): Promise<string | undefined> {
  const { token, experimentToken = 'robot' } = clients.config.pachyderm;
  if (!token || experimentToken === 'none') return undefined;
  if (experimentToken === 'worker') return token;

  const robot = readerRobot(input.inputRepo);
  const ttlSeconds = Math.ceil(durationMs(input.trainingTimeout ?? DEFAULT_TRAINING_TIMEOUT, 'training.timeout') / 1000) + EXPIRY_MARGIN_SECONDS;
  try {
    await clients.pachyderm.modifyRepoRoleBinding(repoOf(input.inputRepo.project, input.inputRepo.repo), `robot:${robot}`, ['repoReader']);
    return await clients.pachyderm.getRobotToken(robot, ttlSeconds);
  } catch (err) {
    if (failureStatus(err) === 403) {
      throw failure(
        ErrorType.PermissionDenied,
        `cannot give the experiment a read-only pachd token for ${input.inputRepo.project}/${input.inputRepo.repo}: the worker's PACHD_TOKEN needs ${ROBOT_TOKEN_ROLES} ` +
          `(or set PACHD_EXPERIMENT_TOKEN=worker to hand experiments the worker's own token). pachd said: ${(err as Error).message}`,
        true,
      );
    }
    // pachd without auth ignores tokens: the experiment needs none.
    if (failureStatus(err) === 501 && /the auth service is not activated/.test((err as Error).message)) return undefined;
    throw err;
  }
}
