// Our custom search attributes on SQL visibility (advanced visibility on PostgreSQL), as the cluster stack
// registers them with deploy/temporal/setup-namespace.sh: they fit the store's per-type limits (counted from the
// visibility schema the server runs on), each is registered with its type, each is accepted on a run and filters
// the list; and a namespace whose store has no room left fails registration with a message that says so.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ALL_SEARCH_ATTRIBUTES } from 'continuous-training/common/search-attributes';
import { TypedSearchAttributes, type SearchAttributePair } from '@temporalio/common';
import { postgresBinDir } from '../../postgres';
import { describeOnCluster, startTemporalTarget, type TemporalTarget } from '../helpers/temporal-target';

const INDEXED_VALUE_TYPES = ['UNSPECIFIED', 'TEXT', 'KEYWORD', 'INT', 'DOUBLE', 'BOOL', 'DATETIME', 'KEYWORD_LIST'];

describeOnCluster('search attributes on SQL visibility (PostgreSQL)', () => {
  let target: TemporalTarget;

  beforeAll(async () => {
    target = await startTemporalTarget('cluster');
  }, 300_000);

  afterAll(async () => {
    await target?.close();
  }, 60_000);

  /** Custom search attribute columns of the visibility table, per type (Keyword01..Keyword10 -> KEYWORD: 10). */
  function columnsPerType(): Record<string, number> {
    const psql = spawnSync(
      path.join(postgresBinDir()!, 'psql'),
      ['-h', '127.0.0.1', '-p', String(target.cluster!.postgres.port), '-U', 'temporal', '-d', 'temporal_visibility', '-Atc',
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'executions_visibility'"],
      { encoding: 'utf8' },
    );
    if (psql.status !== 0) throw new Error(`psql failed: ${psql.stderr}`);
    const names: Record<string, string> = { keyword: 'KEYWORD', int: 'INT', double: 'DOUBLE', bool: 'BOOL', datetime: 'DATETIME', text: 'TEXT', keywordlist: 'KEYWORD_LIST' };
    const counts: Record<string, number> = {};
    for (const column of psql.stdout.trim().split('\n')) {
      const m = /^([a-z]+)\d\d$/.exec(column); // custom columns only: the system ones start with "temporal"
      if (m && names[m[1]!]) counts[names[m[1]!]!] = (counts[names[m[1]!]!] ?? 0) + 1;
    }
    return counts;
  }

  test('every attribute the product sets fits the per-type limits of the store it runs on', () => {
    const limits = columnsPerType();
    // The store's limits as its schema defines them (a schema change would show here first).
    expect(limits).toMatchObject({ KEYWORD: 10, INT: 3 });
    const needed: Record<string, string[]> = {};
    for (const key of ALL_SEARCH_ATTRIBUTES) (needed[key.type] ??= []).push(key.name);
    for (const [type, names] of Object.entries(needed)) {
      expect({ type, fits: names.length <= (limits[type] ?? 0), names }).toEqual({ type, fits: true, names });
    }
  });

  test('setup-namespace.sh registered each one with its type', async () => {
    const { customAttributes } = await target.client.connection.operatorService.listSearchAttributes({ namespace: target.namespace });
    for (const key of ALL_SEARCH_ATTRIBUTES) {
      expect([key.name, INDEXED_VALUE_TYPES[customAttributes?.[key.name] ?? 0]]).toEqual([key.name, key.type]);
    }
  });

  test('a run carrying every attribute is found by a query on each one', async () => {
    const values: SearchAttributePair[] = ALL_SEARCH_ATTRIBUTES.map((key) =>
      key.type === 'INT' ? ({ key, value: 7 } as SearchAttributePair) : ({ key, value: `sa-${key.name}` } as SearchAttributePair),
    );
    // A workflow no worker runs: what is checked is visibility, not execution.
    const handle = await target.client.workflow.start('notRunByAnyWorker', {
      taskQueue: 'sa-check-no-worker',
      workflowId: 'sa-check-run',
      typedSearchAttributes: new TypedSearchAttributes(values),
    });
    try {
      for (const { key, value } of values) {
        const query = `${key.name} = ${typeof value === 'number' ? value : `"${String(value)}"`} AND WorkflowId = "sa-check-run"`;
        const deadline = Date.now() + 30_000;
        let found = 0;
        while (found === 0 && Date.now() < deadline) {
          found = 0;
          for await (const _ of target.client.workflow.list({ query })) found++;
          if (!found) await new Promise((r) => setTimeout(r, 300));
        }
        expect([query, found]).toEqual([query, 1]);
      }
    } finally {
      await handle.terminate('search attribute check done');
    }
  });

  test('a namespace whose store is full for a type: registration stops at once, naming the attribute, the type and the limit', async () => {
    // Three unrelated Int attributes fill the namespace's three Int columns.
    const filled = await target.cluster!.setupNamespace('ct-full-int', 'OtherInt1=Int OtherInt2=Int OtherInt3=Int');
    expect(filled.code).toBe(0);
    const ours = await target.cluster!.setupNamespace('ct-full-int');
    expect(ours.code).not.toBe(0);
    expect(ours.stderr.trim()).toBe(
      'cannot register search attribute CtModelVersion (Int) in namespace ct-full-int: the visibility store is full for type Int ' +
        '(cannot have more than 3 search attribute of type Int). Remove custom Int attributes this namespace no longer uses ' +
        '(temporal operator search-attribute remove), or use a visibility store with more room (Elasticsearch).',
    );
  }, 120_000);
});
