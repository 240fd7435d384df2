// deploy/pachyderm/*.json (the Pachyderm-triggered start) checked by Pachyderm's own pachd as far as it
// goes without Kubernetes: CreatePipelineV2 with dryRun parses each spec strictly (protojson: an unknown
// or misspelt field, or a wrong type, is refused) and merges it with the cluster defaults into the
// effective spec, which must keep every field we wrote. What a dry run does not check (that the input
// repos exist, that the secrets and image exist, that the worker runs) needs a Kubernetes cluster.
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from 'continuous-training/scripts/temporal-binaries';
import { PachdError, PachdRestClient } from '@continuous-training/emulators/pachyderm/client';
import type { RealPachd } from '../../real-pachd';
import { describeRealPachd, startTestPachd } from './helpers';

const SPECS = ['training-trigger.json', 'deployment-trigger.json'];
const read = (file: string) => fs.readFileSync(path.join(projectRoot, 'deploy', 'pachyderm', file), 'utf8');

describeRealPachd('deploy/pachyderm pipeline specs against real pachd', () => {
  let pachd: RealPachd;
  let client: PachdRestClient;

  beforeAll(async () => {
    pachd = await startTestPachd();
    client = new PachdRestClient({ url: pachd.url, authToken: pachd.rootToken });
  });

  afterAll(async () => {
    await pachd?.close();
  });

  const dryRun = (specJson: string) =>
    client.call<{ effectiveCreatePipelineRequestJson: string }>('pps_v2.API/CreatePipelineV2', { createPipelineRequestJson: specJson, dryRun: true });

  test.each(SPECS)('%s: a dry run accepts it, and the effective spec keeps every field we wrote', async (file) => {
    const spec = JSON.parse(read(file)) as Record<string, unknown>;
    const { effectiveCreatePipelineRequestJson } = await dryRun(read(file));
    const effective = JSON.parse(effectiveCreatePipelineRequestJson) as Record<string, unknown>;
    expect(effective).toMatchObject(spec);
  });

  test('the dry run is a real check: a misspelt field and a wrong type are refused', async () => {
    const spec = JSON.parse(read(SPECS[0]!)) as { input: { pfs: Record<string, unknown> }; transform: Record<string, unknown> };
    const misspelt = structuredClone(spec);
    misspelt.input.pfs.empty_filez = true;
    await expect(dryRun(JSON.stringify(misspelt))).rejects.toThrow(/empty_filez/);
    const wrongType = structuredClone(spec);
    wrongType.transform.cmd = 'sh -c true';
    await expect(dryRun(JSON.stringify(wrongType))).rejects.toBeInstanceOf(PachdError);
  });
});
