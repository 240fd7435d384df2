// Every patched() change must be covered on both sides by the recorded histories that replay.test.ts
// replays: at least one history from before the change (no marker: the old path still replays) and one
// recorded since (with the marker: the new path replays too).
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { PATCH_IDS } from '../../workflows/patches';

const dir = path.join(__dirname, '..', 'histories');
const histories = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((file) => {
    const { workflowId: _id, ...json } = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { workflowId: string };
    const events = historyFromJSON(json).events ?? [];
    const type = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
    const patches = events
      .map((e) => e.markerRecordedEventAttributes)
      .filter((m) => m?.markerName === 'core_patch')
      .flatMap((m) => Object.values(m?.details ?? {}).flatMap((p) => p.payloads ?? []))
      .map((p) => Buffer.from(p.data ?? []).toString('utf8'));
    return { file, type, patches };
  });

test('every patch id is a string used once', () => {
  expect(new Set(PATCH_IDS).size).toBe(PATCH_IDS.length);
});

// No patch is open today (workflows/patches.ts): this runs for each one added.
(PATCH_IDS.length ? test.each(PATCH_IDS.map((id) => [id])) : test.skip.each([["(none open)"]]))('patch %s: histories from before and after the change are recorded', (id) => {
  const withMarker = histories.filter((h) => h.patches.some((p) => p.includes(`"${id}"`)));
  expect(withMarker.map((h) => h.file)).not.toEqual([]);
  const types = new Set(withMarker.map((h) => h.type));
  const without = histories.filter((h) => types.has(h.type) && !h.patches.some((p) => p.includes(`"${id}"`)));
  expect(without.map((h) => h.file)).not.toEqual([]);
});
