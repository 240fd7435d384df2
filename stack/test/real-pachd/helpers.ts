// The real-pachd tier: Pachyderm's own pachd (stack/real-pachd.ts). Without Go or PostgreSQL (or an
// unbuilt binary) its suites are skipped with what to install; under CI=true they fail instead, since
// scripts/setup.sh --for-tests installs and builds both (a green CI must not hide a missing step).
import { realPachdUnavailableReason, startRealPachd, type RealPachd } from '../../real-pachd';

export const isCI = process.env.CI === 'true';
const unavailable = realPachdUnavailableReason();

/** `describe`, or `describe.skip` with a warning saying what is missing (never under CI=true). */
export function describeRealPachd(name: string, fn: () => void): void {
  if (unavailable && !isCI) {
    console.warn(`real-pachd tier skipped (${name}): ${unavailable}`);
    describe.skip(name, fn);
    return;
  }
  describe(name, fn);
}

/** Starts real pachd in a temp dir (removed on close); under CI=true a missing prerequisite throws here. */
export async function startTestPachd(): Promise<RealPachd> {
  if (unavailable) throw new Error(unavailable);
  return startRealPachd();
}

/** A `Repo` message of the default project. */
export const repoMsg = (name: string) => ({ name, type: 'user', project: { name: 'default' } });
