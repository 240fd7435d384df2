// A changed configuration sent to a running long-lived workflow (the `applyPipeline` and
// `applyDeployment` Updates): the new spec and its revision. The validator refuses a change the
// workflow cannot take: a spec that would belong to another workflow (its id is derived from it).

export interface SpecChange<Spec> {
  spec: Spec;
  /** A short hash of the spec (client/pipelines-config `specRevision`): runs record which they used. */
  revision: string;
}

export interface SpecChangeAnswer {
  revision: string;
  previous: string | null;
  appliesFrom: string;
}

/** Throws (rejecting the Update) when `change` is malformed or names another workflow's key. */
export function checkSpecChange<Spec>(change: SpecChange<Spec>, current: string, keyOf: (s: Spec) => string): void {
  if (!change || typeof change !== 'object' || !change.spec || typeof change.spec !== 'object') throw new Error('the change carries no spec');
  if (typeof change.revision !== 'string' || !change.revision) throw new Error('the change carries no revision');
  const key = keyOf(change.spec);
  if (key !== current) {
    throw new Error(`the spec is for ${key}, this workflow serves ${current}: start that one instead`);
  }
}
