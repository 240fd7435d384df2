// stopRunExperiments: kills every experiment of one training run that is still active, found by the
// run's label (so it works whether or not the workflow ever learnt the experiment's id: a cancel during
// submitExperiment, a timeout). Idempotent; it fails (and is retried) until Determined reports each
// experiment ended or stopping, so a training that ends early never leaves an experiment RUNNING.
import { ApplicationFailure } from '@temporalio/common';
import type { StopRunExperimentsInput } from '../common/types';
import { ErrorType } from '../common/errors';
import type { Clients } from './clients';
import { failureType } from './http/errors';
import { experimentsLabelled, runLabel } from './submit-experiment';
import { toState } from './wait-for-experiment';

const STOPPED = new Set(['COMPLETED', 'CANCELED', 'ERROR', 'DELETED', 'STOPPING_KILLED', 'STOPPING_CANCELED', 'STOPPING_COMPLETED', 'STOPPING_ERROR', 'DELETING']);

export async function stopRunExperiments(clients: Clients, input: StopRunExperimentsInput): Promise<{ killed: number[] }> {
  const label = runLabel(input);
  const killed: number[] = [];
  for (const e of await experimentsLabelled(clients, label)) {
    if (STOPPED.has(toState(e.state))) continue;
    try {
      await clients.determined.killExperiment(e.id);
      killed.push(e.id);
    } catch (err) {
      // Gone already: nothing left to stop.
      if (failureType(err) !== ErrorType.NotFound) throw err;
    }
  }
  // Confirm: read the states back; anything still active makes this attempt fail, and it is retried.
  const active = (await experimentsLabelled(clients, label)).filter((e) => !STOPPED.has(toState(e.state)));
  if (active.length) {
    throw ApplicationFailure.retryable(
      `experiments ${active.map((e) => `${e.id} (${toState(e.state)})`).join(', ')} of ${label} are not stopped yet`,
      ErrorType.Unavailable,
    );
  }
  return { killed };
}
