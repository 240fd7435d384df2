// `ct` as an operator runs it: a separate process (the compiled `ct` bin) against a testbed's
// dev server and pachd, with a pipelines file written for it.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import yaml from 'js-yaml';
import type { PipelineSpec } from 'continuous-training/common/pipeline';
import { ctCommandLine } from 'continuous-training/test/helpers/product-build';
import type { Testbed } from './testbed';

export interface CtResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A function that runs `ct ARGS` against the testbed, the worker listening on `taskQueue`. */
export function ctCommand(tb: Testbed, taskQueue: string): (args: string[]) => Promise<CtResult> {
  const [node, cli] = ctCommandLine();
  return (args) => {
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: tb.env.address,
      CT_TASK_QUEUE: taskQueue,
      PACHD_URL: tb.stack.pachd.url,
      PACHD_TOKEN: tb.stack.connections.pachyderm.token ?? '',
    };
    return new Promise((resolve) => {
      execFile(node, [cli, ...args], { encoding: 'utf8', env, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.trim() }),
      );
    });
  };
}

/** Writes the pipelines file `ct --config` reads, in the testbed's state dir. */
export function pipelinesFile(tb: Testbed, pipelines: PipelineSpec[]): string {
  const file = path.join(tb.stateDir, `pipelines-${pipelines[0].name}.yaml`);
  fs.writeFileSync(file, yaml.dump({ pipelines }));
  return file;
}
