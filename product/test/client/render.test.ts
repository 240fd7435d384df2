// client/render.ts, cli-usage.ts and ui-link.ts: colour rules, durations, tables, option suggestions, UI links.
import { colourEnabled, formatDuration, makeStyle, stepLine, table } from '../../client/render';
import { nearestOption, optionsOf } from '../../client/cli-usage';
import { runUrl, uiBaseUrl } from '../../client/ui-link';

test('colour only on a terminal, and neither with NO_COLOR (any non-empty value) nor with --no-color', () => {
  expect(colourEnabled({ isTTY: true }, {})).toBe(true);
  expect(colourEnabled({ isTTY: false }, {})).toBe(false);
  expect(colourEnabled({}, {})).toBe(false);
  expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  expect(colourEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
  expect(colourEnabled({ isTTY: true }, {}, true)).toBe(false);
  expect(colourEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  expect(makeStyle(false).green('x')).toBe('x');
  expect(makeStyle(true).green('x')).toBe('\x1b[32mx\x1b[0m');
});

test('step lines as the demo prints them; durations', () => {
  const plain = makeStyle(false);
  expect(stepLine({ name: 'register-version', startedAt: '', outcome: 'ok', detail: 'shapes version 2', durationMs: 41 }, plain)).toBe('    ✔ register-version   shapes version 2 41 ms');
  expect(stepLine({ name: 'wait-experiment', startedAt: '' }, plain)).toBe('    … wait-experiment    running');
  expect(stepLine({ name: 'publish-model', startedAt: '', outcome: 'failed', detail: 'boom', durationMs: 1500 }, plain)).toBe('    ✘ publish-model      boom 1.5 s');
  expect([850, 12_340, 185_000, 3_720_000].map(formatDuration)).toEqual(['850 ms', '12.3 s', '3m 05s', '1h 02m']);
});

test('tables: columns padded to the widest cell, colour applied after the layout', () => {
  const text = table(['A', 'STATUS', 'C'], [['x', 'COMPLETED', 'z'], ['long', 'FAILED', 'w']], makeStyle(false), (cell, _row, column) => (column === 1 ? `<${cell}>` : cell));
  expect(text.split('\n')).toEqual(['A     STATUS     C', 'x     <COMPLETED>  z', 'long  <FAILED   >  w']);
});

test('an unknown option is matched to the nearest one the command takes', () => {
  expect(nearestOption('pipline', optionsOf('list'))).toBe('pipeline');
  expect(nearestOption('colour', optionsOf('list'))).toBe('no-color');
  expect(nearestOption('folow', optionsOf('status'))).toBe('follow');
  expect(nearestOption('wiat', optionsOf('trigger'))).toBe('wait');
  expect(nearestOption('frobnicate', optionsOf('list'))).toBeUndefined();
  expect(optionsOf('status')).not.toContain('config');
});

test('UI links: CT_UI_URL, else Temporal Cloud, else the local dev server (gRPC port + 1000), else none', () => {
  expect(uiBaseUrl({ address: 'temporal:7233' }, { CT_UI_URL: 'http://localhost:8080/' })).toBe('http://localhost:8080');
  expect(uiBaseUrl({ address: 'us-east-1.aws.api.temporal.io:7233' }, {})).toBe('https://cloud.temporal.io');
  expect(uiBaseUrl({ address: 'ct.a1b2c.tmprl.cloud:7233' }, {})).toBe('https://cloud.temporal.io');
  expect(uiBaseUrl({ address: '127.0.0.1:7233' }, {})).toBe('http://127.0.0.1:8233');
  expect(uiBaseUrl({ address: 'temporal-frontend.temporal:7233' }, {})).toBeNull();
  expect(runUrl('http://ui', 'default', 'ct-train-shapes@c1', 'r1')).toBe('http://ui/namespaces/default/workflows/ct-train-shapes%40c1/r1/history');
  expect(runUrl(null, 'default', 'x')).toBeNull();
});
