// Temporal's own cost of one activity step on this machine and server: a chain of no-op activities run by a
// worker with the SDK's default options. What a product step costs beyond this is the product's.
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { median } from './harness';

export interface Floor {
  /** Median over the runs of (workflow start → result) / steps. */
  msPerStep: number;
  runs: number[];
  /** No-op activities per chain, and chains run before the measured ones. */
  steps: number;
  warmup: number;
}

export async function measureFloor(address: string, taskQueue: string, { steps = 20, runs = 7, warmup = 2 } = {}): Promise<Floor> {
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: path.join(__dirname, 'floor-workflow.ts'),
    activities: { noop: async () => undefined },
  });
  const measured: number[] = [];
  try {
    await worker.runUntil(async () => {
      const client = new Client({ connection });
      for (let i = 0; i < warmup + runs; i++) {
        const t0 = performance.now();
        await client.workflow.execute('noopChain', { taskQueue, workflowId: `${taskQueue}-${Date.now()}-${i}`, args: [steps] });
        if (i >= warmup) measured.push((performance.now() - t0) / steps);
      }
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
  return { msPerStep: median(measured), runs: measured, steps, warmup };
}
