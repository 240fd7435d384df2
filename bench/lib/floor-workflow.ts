// Temporal's floor: a workflow that awaits no-op activities one after another, nothing of the product in it.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1m' });

export async function noopChain(steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await noop();
}
