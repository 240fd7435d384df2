// What the worker needs of its Temporal namespace, checked before it polls, so that a misconfigured cluster is
// one clear message instead of workflow tasks failing later: the namespace exists, and every custom search
// attribute the workflows set is registered with its type (a workflow upserting an unregistered one fails its
// workflow task over and over). Connecting itself is checked by the caller (temporal-config.ts cannotReach).
import type { NativeConnection } from '@temporalio/worker';
import { ALL_SEARCH_ATTRIBUTES } from '../common/search-attributes';

const GRPC_NOT_FOUND = 5;
// temporal.api.enums.v1.IndexedValueType, as listSearchAttributes returns it.
const INDEXED_VALUE_TYPES = ['UNSPECIFIED', 'TEXT', 'KEYWORD', 'INT', 'DOUBLE', 'BOOL', 'DATETIME', 'KEYWORD_LIST'];
const TYPE_NAMES: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', TEXT: 'Text', BOOL: 'Bool', DOUBLE: 'Double', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };

/** How to register search attributes on a cluster (the same command the compose stack's setup script runs). */
export function registerCommand(namespace: string, attrs: { name: string; type: string }[]): string {
  return attrs.map((a) => `temporal operator search-attribute create -n ${namespace} --name ${a.name} --type ${TYPE_NAMES[a.type] ?? a.type}`).join(' && ');
}

/** Throws one message naming what is wrong with the namespace and how to fix it; resolves when all is in place. */
export async function checkTemporalNamespace(connection: Pick<NativeConnection, 'workflowService' | 'operatorService'>, namespace: string): Promise<void> {
  let customAttributes: Record<string, number> | null | undefined;
  try {
    await connection.workflowService.describeNamespace({ namespace });
    ({ customAttributes } = await connection.operatorService.listSearchAttributes({ namespace }));
  } catch (err) {
    if ((err as { code?: number }).code === GRPC_NOT_FOUND) {
      throw new Error(
        `Temporal namespace "${namespace}" does not exist: create it (temporal operator namespace create -n ${namespace}, or deploy/temporal/setup-namespace.sh) or set TEMPORAL_NAMESPACE to an existing one`,
      );
    }
    // Reached, but not answering: the server's persistence (its database) is the usual cause.
    throw new Error(`Temporal answers but cannot serve namespace "${namespace}": ${(err as Error).message.split('\n')[0]} (is its database up?)`);
  }
  const problems: { name: string; type: string; found?: string }[] = [];
  for (const key of ALL_SEARCH_ATTRIBUTES) {
    const registered = customAttributes?.[key.name];
    if (registered === undefined || registered === null) problems.push({ name: key.name, type: key.type });
    else if (INDEXED_VALUE_TYPES[registered] !== key.type) {
      problems.push({ name: key.name, type: key.type, found: INDEXED_VALUE_TYPES[registered] ?? String(registered) });
    }
  }
  if (problems.length) {
    const described = problems.map((p) => (p.found ? `${p.name} (registered as ${p.found}, needs ${p.type})` : `${p.name} (${p.type})`)).join(', ');
    const missing = problems.filter((p) => !p.found);
    throw new Error(
      `Temporal namespace "${namespace}" lacks search attributes the workflows set: ${described}. ` +
        (missing.length ? `Register them: ${registerCommand(namespace, missing)} (or run deploy/temporal/setup-namespace.sh)` : 'Remove and register them again with the right type'),
    );
  }
}

