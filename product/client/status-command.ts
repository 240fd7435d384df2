// `ct status WORKFLOW_ID` (without --follow): one read of a run, printed, without loading the Temporal SDK
// (wire-run-reader.ts), so that it answers in about the time node takes to start (bench/cli-startup.ts).
import { loadTemporalConfig } from '../worker/temporal-config';
import { out, type Options } from './cli-support';
import { colourEnabled, makeStyle } from './render';
import { readRun, renderRun } from './run-view';
import { runUrl, uiBaseUrl } from './ui-link';
import { wireRunReader } from './wire-run-reader';

export async function showStatus(workflowId: string, values: Options): Promise<number> {
  const config = loadTemporalConfig(process.env);
  const view = await readRun(wireRunReader(config), workflowId);
  const style = makeStyle(colourEnabled(process.stdout, process.env, !!values['no-color']));
  const url = runUrl(uiBaseUrl(config), config.namespace, workflowId, view.runId);
  out(
    !!values.json,
    {
      workflowId,
      runId: view.runId,
      type: view.type,
      state: view.state,
      status: view.status ?? { unavailable: view.statusUnavailable },
      experiment: view.experiment,
      failure: view.failure ?? null,
      url,
    },
    renderRun(view, style, url),
  );
  return 0;
}
