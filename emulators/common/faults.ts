// Fault injection, controllable per route at run time and seeded so a failing run can be repeated.

export interface FaultRule {
  /** Regular expression matched against `METHOD /path` (e.g. `^POST /api/v1/experiments$`); all routes when absent. */
  route?: string;
  /** Probability in [0,1] of answering `status` instead of the real answer. */
  errorRate?: number;
  /** Status used for injected errors: 500, 503 or 429. Default 503. */
  status?: number;
  /** Added latency in milliseconds before the request is handled. */
  latencyMs?: number;
  /** Probability in [0,1] of destroying the connection without an answer. */
  dropRate?: number;
  /** Never answer (until the client gives up or the emulator closes). */
  hang?: boolean;
  /** Apply to at most this many matching requests, then stop. */
  times?: number;
}

export interface FaultConfig {
  seed?: number;
  rules: FaultRule[];
}

export type FaultDecision =
  | { kind: 'none'; latencyMs: number }
  | { kind: 'error'; status: number; latencyMs: number }
  | { kind: 'drop'; latencyMs: number }
  | { kind: 'hang'; latencyMs: number };

/** mulberry32: tiny, fast, good enough to make fault sequences repeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private rules: { rule: FaultRule; regex?: RegExp; used: number }[] = [];
  private random: () => number = prng(1);
  private seed = 1;

  constructor(config?: FaultConfig) {
    if (config) this.set(config);
  }

  set(config: FaultConfig): void {
    for (const rule of config.rules) validateRule(rule);
    this.seed = config.seed ?? 1;
    this.random = prng(this.seed);
    this.rules = config.rules.map((rule) => ({ rule, regex: rule.route ? new RegExp(rule.route) : undefined, used: 0 }));
  }

  clear(): void {
    this.rules = [];
  }

  get(): FaultConfig {
    return { seed: this.seed, rules: this.rules.map((r) => r.rule) };
  }

  decide(method: string, path: string): FaultDecision {
    const key = `${method} ${path}`;
    let latencyMs = 0;
    for (const entry of this.rules) {
      if (entry.regex && !entry.regex.test(key)) continue;
      if (entry.rule.times !== undefined && entry.used >= entry.rule.times) continue;
      latencyMs += entry.rule.latencyMs ?? 0;
      if (entry.rule.hang) {
        entry.used++;
        return { kind: 'hang', latencyMs };
      }
      if (entry.rule.dropRate && this.random() < entry.rule.dropRate) {
        entry.used++;
        return { kind: 'drop', latencyMs };
      }
      if (entry.rule.errorRate && this.random() < entry.rule.errorRate) {
        entry.used++;
        return { kind: 'error', status: entry.rule.status ?? 503, latencyMs };
      }
      if (!entry.rule.errorRate && !entry.rule.dropRate && entry.rule.latencyMs) entry.used++;
    }
    return { kind: 'none', latencyMs };
  }
}

function validateRule(rule: FaultRule): void {
  const rate = (v: number | undefined, name: string) => {
    if (v !== undefined && (typeof v !== 'number' || v < 0 || v > 1)) throw new Error(`fault ${name} must be a number in [0,1]`);
  };
  rate(rule.errorRate, 'errorRate');
  rate(rule.dropRate, 'dropRate');
  if (rule.status !== undefined && ![429, 500, 502, 503, 504].includes(rule.status)) {
    throw new Error('fault status must be one of 429, 500, 502, 503, 504');
  }
  if (rule.route !== undefined) new RegExp(rule.route);
}
