// Trains one model on one input commit: diff → experiment code → registry → experiment → wait →
// register → publish. Steps 2 to 8 of the seed; the published output commit cascades into deployment.
//
// Time and control: `training.timeout` is a durable timer from submission to a terminal experiment
// state, whatever the activity attempts and state changes. Once an experiment may exist, every early
// end (cancel at any step, the timeout, a failure, the parent closing: children get REQUEST_CANCEL)
// runs a cleanup in a non-cancellable scope that finds the run's experiment by its label and kills it.
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  defineQuery,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PipelineSpec } from '../common/pipeline';
import type { DiffSummary, ExperimentProgress, ExperimentState, ModelVersionRef } from '../common/types';
import { ErrorType } from '../common/errors';
import { CtCommit, CtExperimentId, CtModelName, CtModelVersion, CtPipeline, CtRepo } from '../common/search-attributes';
import { durationToMs } from '../common/duration';
import { cleanup, quick, quickHeartbeating, quickLocal, streaming, experimentWaiter } from './activities';
import { endCancelledWhenAsked } from './cancellation';
import { DeadlineExpired, withDeadline } from './deadline';
import { StepTracker, type StepRecord } from './steps';
import { countTrainingEnded, countTrainingStarted, recordExperimentWait } from './metrics';

export interface TrainingInput {
  pipeline: PipelineSpec;
  commit: string;
  /** How many commits this training covers (more than one when commits were coalesced). */
  coveredCommits?: number;
  /** The revision of the pipeline spec (pipelines-config `specRevision`), recorded in the memo. */
  specRevision?: string;
  /**
   * The operator's way out of a blocked pipeline (`ct rebase`, `ct retry --base`): diff against this
   * commit instead of the one the latest model was trained on, skipping what came before it.
   */
  baseCommit?: string;
  /** Paths left out of this training (`ct retry --exclude`, common/path-filter.ts). */
  exclude?: string[];
}

export type TrainingResult =
  | {
      status: 'trained';
      commit: string;
      baseCommit: string | null;
      diff: DiffSummary;
      experimentId: number;
      modelVersion: ModelVersionRef;
      outputCommit: string;
    }
  | { status: 'skipped'; commit: string; reason: string; diff: DiffSummary | null };

export interface TrainingStatus {
  commit: string;
  step: string | null;
  steps: StepRecord[];
  experiment: ExperimentProgress | null;
  result: TrainingResult | null;
}

export const trainingStatusQuery = defineQuery<TrainingStatus>('status');

const TERMINAL: ExperimentState[] = ['COMPLETED', 'CANCELED', 'ERROR', 'DELETED'];

export async function trainingWorkflow(input: TrainingInput): Promise<TrainingResult> {
  const pipeline = input.pipeline.name;
  const started = Date.now(); // workflow time: deterministic
  const seconds = () => (Date.now() - started) / 1000;
  countTrainingStarted(pipeline);
  try {
    const result = await endCancelledWhenAsked(() => train(input));
    countTrainingEnded(pipeline, result.status === 'trained' ? 'completed' : 'skipped', seconds());
    return result;
  } catch (err) {
    const timedOut = err instanceof ApplicationFailure && err.type === ErrorType.TrainingTimedOut;
    countTrainingEnded(pipeline, timedOut ? 'timed_out' : isCancellation(err) ? 'cancelled' : 'failed', seconds());
    throw err;
  }
}

async function train(input: TrainingInput): Promise<TrainingResult> {
  const { pipeline, commit } = input;
  const steps = new StepTracker(`train ${pipeline.modelName} on ${pipeline.input.repo}@${commit}`);
  let experiment: ExperimentProgress | null = null;
  let result: TrainingResult | null = null;
  setHandler(trainingStatusQuery, () => ({ commit, step: steps.current, steps: steps.steps, experiment, result }));
  upsertSearchAttributes([
    { key: CtPipeline, value: pipeline.name },
    { key: CtRepo, value: pipeline.input.repo },
    { key: CtCommit, value: commit },
    { key: CtModelName, value: pipeline.modelName },
  ]);
  if (input.specRevision) upsertMemo({ specRevision: input.specRevision });

  const skip = (reason: string, diff: DiffSummary | null): TrainingResult => {
    result = { status: 'skipped', commit, reason, diff };
    steps.finish('skipped');
    return result;
  };

  // The registry tells us which commit the current model saw, so the diff covers every commit since
  // (coalesced or skipped ones included), not merely this commit's parent.
  const lookup = { modelName: pipeline.modelName, pipelineName: pipeline.name, inputRepo: pipeline.input };
  const latest = await steps.run(
    'lookup-model',
    () => quickLocal.lookupModel.executeWithOptions({ summary: `latest registered version of ${pipeline.modelName}` }, [lookup]),
    (v) => (v ? `latest version ${v.version} trained on ${v.trainedOnCommit ?? 'unknown commit'}` : 'no version yet'),
  );
  if (latest?.trainedOnCommit === commit) {
    return skip(`version ${latest.version} of ${pipeline.modelName} was already trained on this commit`, null);
  }

  const exclude = input.exclude?.length ? { exclude: input.exclude } : {};
  const base = input.baseCommit ?? latest?.trainedOnCommit ?? null;
  const diff = await steps.run(
    'diff-commit',
    () =>
      streaming.diffCommit.executeWithOptions(
        { summary: `diff ${pipeline.input.repo}@${commit} against ${base ?? 'nothing (first training)'}` },
        [{ repo: pipeline.input, commit, baseCommit: base, ...exclude }],
      ),
    (d) =>
      `+${d.added.files} ~${d.modified.files} -${d.deleted.files} files against ${d.baseCommit ?? 'nothing (first commit)'}` +
      (d.excluded ? ` (${d.excluded.files} excluded)` : ''),
  );
  if (diff.kind === 'empty') return skip('the commit adds or changes no file', diff);
  if (diff.kind === 'deletions-only') return skip('the commit only deletes files: nothing new to train on', diff);

  const code = await steps.run(
    'fetch-experiment',
    () => streaming.fetchExperiment.executeWithOptions({ summary: `fetch ${pipeline.experiment.gitUrl}@${pipeline.experiment.ref}` }, [{ source: pipeline.experiment }]),
    (c) => `${c.experimentName} at ${c.sha.slice(0, 12)} (${c.files} files)`,
  );

  // From here on an experiment may exist: whatever ends the run early, none is left running.
  const run = { workflowId: workflowInfo().workflowId, runId: workflowInfo().firstExecutionRunId, commit };
  const timeoutMs = durationToMs(pipeline.training.timeout);
  let experimentId: number | null = null;
  let final: ExperimentProgress;
  try {
    final = await withDeadline(timeoutMs, async () => {
      const submitted = await steps.run(
        'submit-experiment',
        () =>
          quickHeartbeating.submitExperiment.executeWithOptions(
            { summary: `submit ${code.experimentName} on ${pipeline.input.repo}@${commit}${latest ? ` from checkpoint ${latest.checkpointUuid}` : ''}` },
            [{ pipelineName: pipeline.name, inputRepo: pipeline.input, baseCommit: diff.baseCommit, ...exclude, code, parent: latest, trainingTimeout: pipeline.training.timeout, ...run }],
          ),
        (s) => `experiment ${s.experimentId}${latest ? ` continuing from checkpoint ${latest.checkpointUuid}` : ' from scratch'}`,
      );
      experimentId = submitted.experimentId;
      upsertSearchAttributes([{ key: CtExperimentId, value: submitted.experimentId }]);

      const waitForExperiment = experimentWaiter(pipeline.training);
      return steps.run(
        'wait-experiment',
        async () => {
          // One activity call per state change: the status query shows QUEUED → … → RUNNING → COMPLETED
          // while the history stays a handful of events however long the training runs.
          let state: ExperimentState = 'UNSPECIFIED';
          const waitStarted = Date.now();
          for (;;) {
            experiment = await waitForExperiment.executeWithOptions(
              { summary: `wait for experiment ${submitted.experimentId} to leave ${state}` },
              [{ experimentId: submitted.experimentId, pollInterval: pipeline.training.pollInterval, returnWhenStateChangesFrom: state }],
            );
            state = experiment.state;
            if (TERMINAL.includes(state)) {
              recordExperimentWait(pipeline.name, state, (Date.now() - waitStarted) / 1000);
              return experiment;
            }
          }
        },
        (e) => `experiment ${e.experimentId} ${e.state}`,
      );
    });
  } catch (err) {
    await CancellationScope.nonCancellable(() =>
      steps.run('stop-experiment', () => cleanup.stopRunExperiments.executeWithOptions({ summary: `kill the experiments of ${run.workflowId}` }, [run]), (r) => (r.killed.length ? `killed experiment ${r.killed.join(', ')}` : 'none running')),
    );
    steps.finish(err instanceof DeadlineExpired ? 'timed out' : isCancellation(err) ? 'cancelled' : 'failed');
    if (err instanceof DeadlineExpired) {
      const which = experimentId !== null ? `experiment ${experimentId}` : 'the experiment (not yet submitted)';
      throw ApplicationFailure.create({
        type: ErrorType.TrainingTimedOut,
        nonRetryable: true,
        message: `${which} did not finish within training.timeout ${pipeline.training.timeout}: killed; nothing registered or published`,
        details: [{ experimentId, timeout: pipeline.training.timeout }],
      });
    }
    throw err;
  }
  if (final.state !== 'COMPLETED') {
    steps.finish('failed');
    throw ApplicationFailure.create({
      type: ErrorType.ExperimentFailed,
      nonRetryable: true,
      message: `experiment ${final.experimentId} ended in ${final.state}: nothing registered or published`,
      details: [{ experimentId: final.experimentId, state: final.state }],
    });
  }

  const version = await steps.run(
    'register-version',
    () =>
      quick.registerModelVersion.executeWithOptions({ summary: `register experiment ${final.experimentId}'s best checkpoint as ${pipeline.modelName}` }, [
        {
          modelName: pipeline.modelName,
          pipelineName: pipeline.name,
          inputRepo: pipeline.input,
          experimentId: final.experimentId,
          commit,
          baseCommit: diff.baseCommit,
          workflowId: workflowInfo().workflowId,
        },
      ]),
    (v) => `${v.modelName} version ${v.version} (checkpoint ${v.checkpointUuid})`,
  );
  upsertSearchAttributes([{ key: CtModelVersion, value: version.version }]);

  const published = await steps.run(
    'publish-model',
    () =>
      streaming.publishModel.executeWithOptions({ summary: `publish ${version.modelName} version ${version.version} to ${pipeline.output.repo}@${pipeline.output.branch}` }, [
        { output: pipeline.output, pipelineName: pipeline.name, inputRepo: pipeline.input, version, commit, baseCommit: diff.baseCommit },
      ]),
    (p) => `${pipeline.output.repo}@${p.outputCommit} (${p.files} files, ${p.bytes} bytes)`,
  );

  result = {
    status: 'trained',
    commit,
    baseCommit: diff.baseCommit,
    diff,
    experimentId: final.experimentId,
    modelVersion: version,
    outputCommit: published.outputCommit,
  };
  steps.finish('done');
  return result;
}
