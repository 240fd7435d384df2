// Durations in pipeline settings: `500ms`, `5s`, `10m`, `2h`, `1d`.
const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(duration: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(String(duration).trim());
  return m ? Math.round(Number(m[1]) * UNITS[m[2] as keyof typeof UNITS]) : null;
}

export function durationToMs(duration: string): number {
  const ms = parseDuration(duration);
  if (ms === null) throw new Error(`invalid duration "${duration}": use e.g. 500ms, 5s, 10m, 2h, 1d`);
  return ms;
}
