// The worker's check of its namespace before polling (worker/check-temporal.ts), over a fake connection: each
// problem is one message that names what is wrong and how to fix it. The cluster tier runs the same check in the
// real worker process against the real server (stack/test/cluster/bad-inputs.test.ts).
import { checkTemporalNamespace, registerCommand } from '../../worker/check-temporal';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes';

const KEYWORD = 2;
const INT = 3;
const TEXT = 1;
const ours = () => Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type === 'INT' ? INT : KEYWORD]));

function fakeConnection(opts: { namespaceError?: { code: number; message: string }; customAttributes?: Record<string, number> }) {
  return {
    workflowService: {
      describeNamespace: async () => {
        if (opts.namespaceError) throw Object.assign(new Error(opts.namespaceError.message), { code: opts.namespaceError.code });
        return {};
      },
    },
    operatorService: { listSearchAttributes: async () => ({ customAttributes: opts.customAttributes ?? ours() }) },
  } as unknown as Parameters<typeof checkTemporalNamespace>[0];
}

test('a namespace with every attribute registered with its type passes', async () => {
  await expect(checkTemporalNamespace(fakeConnection({}), 'ct')).resolves.toBeUndefined();
});

test('a namespace that does not exist is named, with how to create it', async () => {
  await expect(checkTemporalNamespace(fakeConnection({ namespaceError: { code: 5, message: '5 NOT_FOUND: Namespace ct is not found.' } }), 'ct')).rejects.toThrow(
    'Temporal namespace "ct" does not exist: create it (temporal operator namespace create -n ct, or deploy/temporal/setup-namespace.sh) or set TEMPORAL_NAMESPACE to an existing one',
  );
});

test('a server that cannot read its database says so in one line', async () => {
  await expect(
    checkTemporalNamespace(fakeConnection({ namespaceError: { code: 14, message: '14 UNAVAILABLE: dial tcp 127.0.0.1:5432: connect: connection refused\nmore' } }), 'ct'),
  ).rejects.toThrow('Temporal answers but cannot serve namespace "ct": 14 UNAVAILABLE: dial tcp 127.0.0.1:5432: connect: connection refused (is its database up?)');
});

test('missing attributes are each named with the command that registers them; a wrong type says which', async () => {
  const attrs = ours();
  delete attrs.CtRepo;
  delete attrs.CtModelVersion;
  attrs.CtStep = TEXT;
  const err = await checkTemporalNamespace(fakeConnection({ customAttributes: attrs }), 'ct').catch((e: Error) => e);
  expect((err as Error).message).toBe(
    'Temporal namespace "ct" lacks search attributes the workflows set: CtRepo (KEYWORD), CtModelVersion (INT), CtStep (registered as TEXT, needs KEYWORD). ' +
      'Register them: temporal operator search-attribute create -n ct --name CtRepo --type Keyword && temporal operator search-attribute create -n ct --name CtModelVersion --type Int ' +
      '(or run deploy/temporal/setup-namespace.sh)',
  );
});

test('the register command', () => {
  expect(registerCommand('ns', [{ name: 'A', type: 'KEYWORD' }])).toBe('temporal operator search-attribute create -n ns --name A --type Keyword');
});
