// The pachd auth the product relies on for the experiment's token (issue 19.11), sent the same way to the
// emulator and to Pachyderm's own pachd: robot tokens with a ttl, repo role bindings, what a repoReader
// robot may read and is refused, a missing repo, an expired token. Every answer must be the same.
import { startPachydermEmulator } from '@continuous-training/emulators/pachyderm';
import type { RealPachd } from '../../real-pachd';
import { authSteps } from './auth-conformance';
import { describeRealPachd, startTestPachd } from './helpers';

describeRealPachd('pachd auth: the emulator answers as real pachd', () => {
  let pachd: RealPachd;

  beforeAll(async () => {
    pachd = await startTestPachd();
  }, 300_000);

  afterAll(async () => {
    await pachd?.close();
  });

  test('robot tokens, role bindings, reads and refusals, expiry', async () => {
    const emulator = await startPachydermEmulator({ authToken: 'root-token' });
    let emulated;
    try {
      emulated = await authSteps(emulator.url, 'root-token', 'a');
    } finally {
      await emulator.close();
    }
    const real = await authSteps(pachd.url, pachd.rootToken, 'a');
    expect(real.map((a) => a.step)).toEqual(emulated.map((a) => a.step));
    for (let i = 0; i < real.length; i++) expect(emulated[i]).toEqual(real[i]);
  }, 120_000);
});
