// Configured outcomes of rollouts: which deployments fail, how long a rollout takes, and how long its status
// stays stale.
import { matchesPattern } from './model-process';

export interface OutcomeRule {
  /** Deployment name, exact or a prefix ending in `*`. */
  name?: string;
  namespace?: string;
  /** Image of the served container, exact or a prefix ending in `*`. */
  image?: string;
  /** What the rollout ends in. `Available` still runs a matching runtime (which may fail on its own). */
  state: 'Available' | 'Failed';
  /** Delay before the rollout ends (or, with a runtime, before the process starts). */
  delayMs?: number;
  /** How long the status stays stale before the controller writes Creating (default: the emulator's staleStatusMs). */
  staleStatusMs?: number;
  /** `status.description` of a Failed rollout. */
  message?: string;
}

export function validateOutcomes(value: unknown): OutcomeRule[] {
  if (!Array.isArray(value)) throw new Error('outcome rules must be a list of {name?, namespace?, image?, state, delayMs?, staleStatusMs?, message?}');
  return value.map((r: unknown, i) => {
    const rule = r as Partial<OutcomeRule> | null;
    if (!rule || typeof rule !== 'object') throw new Error(`rules[${i}] must be an object`);
    if (rule.state !== 'Available' && rule.state !== 'Failed') throw new Error(`rules[${i}].state must be "Available" or "Failed"`);
    for (const key of ['name', 'namespace', 'image', 'message'] as const) {
      if (rule[key] !== undefined && typeof rule[key] !== 'string') throw new Error(`rules[${i}].${key} must be a string`);
    }
    for (const key of ['delayMs', 'staleStatusMs'] as const) {
      const ms = rule[key];
      if (ms !== undefined && !(typeof ms === 'number' && ms >= 0)) throw new Error(`rules[${i}].${key} must be a number >= 0`);
    }
    return { ...rule, state: rule.state } as OutcomeRule;
  });
}

/** The first rule whose every given selector matches. */
export function findOutcome(rules: OutcomeRule[], namespace: string, name: string, image: string | undefined): OutcomeRule | undefined {
  return rules.find(
    (r) =>
      (r.namespace === undefined || r.namespace === namespace) &&
      (r.name === undefined || matchesPattern(r.name, name)) &&
      (r.image === undefined || (image !== undefined && matchesPattern(r.image, image))),
  );
}
