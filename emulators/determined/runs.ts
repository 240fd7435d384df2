// Runs experiments: moves them QUEUED → PULLING → STARTING → RUNNING → a terminal state, either
// simulated (metrics and checkpoint files made up, outcomes chosen by rules) or by really running the
// entrypoint as a process (the process runner). Everything is persisted, so a restarted emulator resumes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { CheckpointRecord, ExperimentRecord, ExperimentState, MasterStore, MetricsReport, OutcomeRule, TrialRecord } from './store';
import { TERMINAL_STATES } from './store';
import { listResources, moveIntoStorage, storageLocation } from './storage';
import { searcherOf } from './wire';

export interface RunDelays {
  queuedMs: number;
  pullingMs: number;
  startingMs: number;
  /** How long a simulated trial trains (the process runner runs as long as its process). */
  runningMs: number;
}

export const DEFAULT_DELAYS: RunDelays = { queuedMs: 300, pullingMs: 300, startingMs: 300, runningMs: 2000 };

export interface RunManagerOptions {
  store: MasterStore;
  runner: 'simulated' | 'process';
  /** Python used by the process runner for entrypoints starting with `python`/`python3`. */
  python: string;
  delays: RunDelays;
  /** The emulator's URL, passed to processes as DET_MASTER. */
  masterUrl: () => string;
}

const TRIAL_STATE: Partial<Record<ExperimentState, string>> = {
  STATE_QUEUED: 'STATE_QUEUED',
  STATE_PULLING: 'STATE_PULLING',
  STATE_STARTING: 'STATE_STARTING',
  STATE_RUNNING: 'STATE_RUNNING',
  STATE_PAUSED: 'STATE_PAUSED',
  STATE_COMPLETED: 'STATE_COMPLETED',
  STATE_CANCELED: 'STATE_CANCELED',
  STATE_ERROR: 'STATE_ERROR',
  STATE_STOPPING_CANCELED: 'STATE_STOPPING_CANCELED',
  STATE_STOPPING_KILLED: 'STATE_STOPPING_KILLED',
};

const NEXT_STATE: Partial<Record<ExperimentState, { next: ExperimentState; delay: keyof RunDelays }>> = {
  STATE_ACTIVE: { next: 'STATE_PULLING', delay: 'queuedMs' },
  STATE_QUEUED: { next: 'STATE_PULLING', delay: 'queuedMs' },
  STATE_PULLING: { next: 'STATE_STARTING', delay: 'pullingMs' },
  STATE_STARTING: { next: 'STATE_RUNNING', delay: 'startingMs' },
};

interface LiveProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stopRequested: ExperimentState | null;
}

export class RunManager {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly processes = new Map<number, LiveProcess>();
  private closed = false;

  constructor(private readonly opts: RunManagerOptions) {}

  get runnerKind(): 'simulated' | 'process' {
    return this.opts.runner;
  }

  private get store(): MasterStore {
    return this.opts.store;
  }

  /** Picks up every experiment that was active when the emulator stopped. */
  resumeAll(): void {
    for (const exp of this.store.state.experiments) {
      if (exp.state === 'STATE_STOPPING_CANCELED' || exp.state === 'STATE_STOPPING_KILLED') {
        this.finish(exp, 'STATE_CANCELED');
      } else if (exp.state === 'STATE_STOPPING_ERROR') {
        this.finish(exp, 'STATE_ERROR');
      } else if (exp.state === 'STATE_STOPPING_COMPLETED') {
        this.finish(exp, 'STATE_COMPLETED');
      } else if (exp.state === 'STATE_RUNNING') {
        const trial = this.trialOf(exp);
        if (exp.runner === 'process') {
          // The process died with the emulator: like the real master, restart the trial.
          trial.restarts++;
          this.store.appendTrialLog(trial.id, 'emulator restarted: restarting the trial process', 'LOG_LEVEL_WARNING');
          this.store.save();
          this.startProcess(exp);
        } else if (exp.outcome === 'HANG') {
          this.finishRunning(exp);
        } else {
          this.schedule(exp, this.opts.delays.runningMs, () => this.finishRunning(exp));
        }
      } else if (NEXT_STATE[exp.state]) {
        this.advance(exp);
      }
    }
  }

  /** Starts a newly created (activated) experiment. */
  start(exp: ExperimentRecord): void {
    this.setState(exp, 'STATE_QUEUED');
    this.advance(exp);
  }

  pause(exp: ExperimentRecord): void {
    if (TERMINAL_STATES.includes(exp.state) || exp.state === 'STATE_PAUSED') return;
    this.clearTimer(exp.id);
    const live = this.processes.get(exp.id);
    if (live) {
      live.stopRequested = 'STATE_PAUSED';
      live.child.kill('SIGTERM');
      return;
    }
    this.setState(exp, 'STATE_PAUSED');
  }

  activate(exp: ExperimentRecord): void {
    if (exp.state !== 'STATE_PAUSED') return;
    this.start(exp);
  }

  /** cancel and kill: the process gets SIGTERM, the experiment ends CANCELED. */
  stop(exp: ExperimentRecord, how: 'cancel' | 'kill'): void {
    if (TERMINAL_STATES.includes(exp.state)) return;
    this.clearTimer(exp.id);
    const live = this.processes.get(exp.id);
    if (live) {
      live.stopRequested = 'STATE_CANCELED';
      this.setState(exp, how === 'kill' ? 'STATE_STOPPING_KILLED' : 'STATE_STOPPING_CANCELED');
      live.child.kill('SIGTERM');
      return;
    }
    this.finish(exp, 'STATE_CANCELED');
  }

  /** Outcome rules changed: hung runs may now be released. */
  outcomesChanged(): void {
    for (const exp of this.store.state.experiments) {
      if (exp.state === 'STATE_RUNNING' && exp.outcome === 'HANG' && exp.runner === 'simulated') {
        exp.outcome = null;
        this.finishRunning(exp);
      }
    }
  }

  /** Stops timers and processes without changing any state, so a new emulator on the same dir resumes. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    const exits = [...this.processes.values()].map((live) => {
      live.stopRequested = null;
      live.child.kill('SIGTERM');
      const force = setTimeout(() => live.child.kill('SIGKILL'), 3000);
      return live.exited.finally(() => clearTimeout(force));
    });
    await Promise.all(exits);
  }

  // ---- state machine ------------------------------------------------------------------------

  private advance(exp: ExperimentRecord): void {
    const step = NEXT_STATE[exp.state];
    if (!step) return;
    this.schedule(exp, this.opts.delays[step.delay], () => {
      this.setState(exp, step.next);
      if (step.next === 'STATE_RUNNING') this.enterRunning(exp);
      else this.advance(exp);
    });
  }

  private enterRunning(exp: ExperimentRecord): void {
    if (exp.runner === 'process') {
      this.startProcess(exp);
      return;
    }
    const trial = this.trialOf(exp);
    const steps = maxLengthBatches(exp.config);
    const metric = simulatedMetric(exp, this.generation(exp));
    this.report(trial, 'training', { steps: Math.ceil(steps / 2), metrics: { loss: round(metric.loss * 1.1) }, time: now() });
    this.store.appendTrialLog(trial.id, `training: steps=${Math.ceil(steps / 2)} loss=${round(metric.loss * 1.1)}`);
    this.store.save();
    this.schedule(exp, this.opts.delays.runningMs, () => this.finishRunning(exp));
  }

  private finishRunning(exp: ExperimentRecord): void {
    const trial = this.trialOf(exp);
    if (exp.outcome === null) {
      const rule = this.matchingRule(exp);
      exp.outcome = rule?.outcome ?? 'COMPLETED';
      exp.checkpointPaddingBytes = rule?.checkpointBytes;
    }
    const outcome = exp.outcome;
    if (outcome === 'HANG') {
      this.store.appendTrialLog(trial.id, 'emulator outcome HANG: the trial keeps running');
      this.store.save();
      return;
    }
    if (outcome === 'ERROR') {
      this.store.appendTrialLog(trial.id, 'emulator outcome ERROR: the trial failed', 'LOG_LEVEL_ERROR', 'stderr');
      this.finish(exp, 'STATE_ERROR');
      return;
    }
    const steps = maxLengthBatches(exp.config);
    const { metricName, value, loss } = simulatedMetric(exp, this.generation(exp));
    this.report(trial, 'training', { steps, metrics: { loss }, time: now() });
    if (outcome === 'COMPLETED' || outcome === 'NO_SEARCHER_METRIC') {
      const validation: Record<string, number> = { [metricName]: value };
      if (metricName !== 'validation_loss') validation.validation_loss = loss;
      // Code that never reports the searcher metric: the master keeps the validation as it is.
      if (outcome === 'NO_SEARCHER_METRIC') {
        if (metricName !== 'accuracy') validation.accuracy = value;
        delete validation[metricName];
      }
      this.report(trial, 'validation', { steps, metrics: validation, time: now() });
      this.store.appendTrialLog(trial.id, `validation: steps=${steps} ${JSON.stringify(validation)}`);
      const dir = this.newCheckpointDir(exp);
      writeSimulatedCheckpoint(dir, exp, trial, this.store, this.generation(exp));
      this.registerCheckpoint(exp, trial, dir, steps);
    } else {
      this.store.appendTrialLog(trial.id, 'emulator outcome NO_CHECKPOINT: finished without a checkpoint');
    }
    this.finish(exp, 'STATE_COMPLETED');
  }

  private finish(exp: ExperimentRecord, state: ExperimentState): void {
    this.clearTimer(exp.id);
    this.setState(exp, state);
    exp.endTime = now();
    const trial = this.store.trial(exp.trialIds[0]);
    if (trial) trial.endTime = exp.endTime;
    this.store.save();
  }

  private setState(exp: ExperimentRecord, state: ExperimentState): void {
    exp.state = state;
    exp.stateSince = now();
    const trial = this.store.trial(exp.trialIds[0]);
    if (trial && TRIAL_STATE[state]) trial.state = TRIAL_STATE[state] as string;
    if (trial) this.store.appendTrialLog(trial.id, `experiment ${exp.id} is ${state.replace('STATE_', '')}`);
    this.store.save();
  }

  private schedule(exp: ExperimentRecord, ms: number, fn: () => void): void {
    if (this.closed) return;
    this.clearTimer(exp.id);
    this.timers.set(
      exp.id,
      setTimeout(() => {
        this.timers.delete(exp.id);
        if (!this.closed) fn();
      }, ms),
    );
  }

  private clearTimer(id: number): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  private matchingRule(exp: ExperimentRecord): OutcomeRule | undefined {
    const rule = this.store.state.outcomes.find((r) => ruleMatches(r, exp));
    if (rule) rule.used = (rule.used ?? 0) + 1;
    return rule;
  }

  private trialOf(exp: ExperimentRecord): TrialRecord {
    const trial = this.store.trial(exp.trialIds[0]);
    if (!trial) throw new Error(`experiment ${exp.id} has no trial`);
    return trial;
  }

  /** 0 for training from scratch, one more than the source checkpoint's for a continued experiment. */
  private generation(exp: ExperimentRecord): number {
    const source = exp.sourceCheckpointUuid ? this.store.checkpoint(exp.sourceCheckpointUuid) : undefined;
    const parentGeneration = Number(source?.metadata.generation ?? -1);
    return Number.isFinite(parentGeneration) ? parentGeneration + 1 : 0;
  }

  private report(trial: TrialRecord, kind: 'training' | 'validation', r: MetricsReport): void {
    (kind === 'training' ? trial.trainingMetrics : trial.validationMetrics).push(r);
    trial.totalBatchesProcessed = Math.max(trial.totalBatchesProcessed, r.steps);
  }

  private newCheckpointDir(exp: ExperimentRecord): string {
    const dir = path.join(this.store.stateDir, 'tmp', `checkpoint-${exp.id}-${crypto.randomBytes(4).toString('hex')}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Moves a finished checkpoint directory into the experiment's storage and records it. */
  private registerCheckpoint(exp: ExperimentRecord, trial: TrialRecord, dir: string, steps: number): CheckpointRecord {
    const uuid = crypto.randomUUID();
    const location = storageLocation(this.store.stateDir, exp.config.checkpoint_storage as Record<string, unknown> | null);
    const lastValidation = trial.validationMetrics[trial.validationMetrics.length - 1]?.metrics ?? {};
    const lastTraining = trial.trainingMetrics[trial.trainingMetrics.length - 1]?.metrics ?? {};
    const searcher = searcherOf(exp.config);
    const generation = this.generation(exp);
    const metadata: Record<string, unknown> = {
      determined_version: '0.38.1',
      steps_completed: steps,
      framework: '',
      format: '',
      generation,
      source_checkpoint_uuid: exp.sourceCheckpointUuid,
    };
    if (!fs.existsSync(path.join(dir, 'metadata.json'))) {
      fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(metadata, null, 2));
    }
    const target = path.join(location.root, uuid);
    moveIntoStorage(dir, target);
    const checkpoint: CheckpointRecord = {
      uuid,
      taskId: trial.taskId,
      allocationId: `${trial.taskId}.${trial.restarts}`,
      reportTime: now(),
      resources: listResources(target),
      metadata,
      state: 'STATE_COMPLETED',
      trialId: trial.id,
      experimentId: exp.id,
      trainingMetrics: lastTraining,
      validationMetrics: lastValidation,
      searcherMetric: typeof lastValidation[searcher.metric] === 'number' ? lastValidation[searcher.metric] : null,
      dir: path.relative(this.store.stateDir, target),
      storageType: location.type,
    };
    this.store.state.checkpoints.push(checkpoint);
    trial.checkpointUuids.push(uuid);
    this.store.appendTrialLog(trial.id, `checkpoint ${uuid} reported (${Object.keys(checkpoint.resources).length} files)`);
    this.store.save();
    return checkpoint;
  }

  // ---- process runner -----------------------------------------------------------------------

  private startProcess(exp: ExperimentRecord): void {
    const trial = this.trialOf(exp);
    const runDir = this.store.trialDir(trial.id);
    const codeDir = path.join(runDir, 'code');
    const checkpointDir = path.join(runDir, 'checkpoint');
    const metricsFile = path.join(runDir, 'metrics.ndjson');
    const configFile = path.join(runDir, 'experiment-config.json');
    for (const d of [codeDir, checkpointDir]) {
      fs.rmSync(d, { recursive: true, force: true });
      fs.mkdirSync(d, { recursive: true });
    }
    fs.rmSync(metricsFile, { force: true });
    trial.trainingMetrics = [];
    trial.validationMetrics = [];
    try {
      extractModelDefinition(this.store.loadModelDefinition(exp.modelDefinitionOf ?? exp.id), codeDir);
    } catch (err) {
      this.store.appendTrialLog(trial.id, `cannot extract the model definition: ${(err as Error).message}`, 'LOG_LEVEL_ERROR', 'stderr');
      this.finish(exp, 'STATE_ERROR');
      return;
    }
    fs.writeFileSync(configFile, JSON.stringify(exp.config, null, 2));
    const argv = entrypointArgv(exp.config.entrypoint, this.opts.python);
    if (!argv) {
      this.store.appendTrialLog(
        trial.id,
        `entrypoint ${JSON.stringify(exp.config.entrypoint)} is not a command: the process runner runs commands such as "python3 train.py"`,
        'LOG_LEVEL_ERROR',
        'stderr',
      );
      this.finish(exp, 'STATE_ERROR');
      return;
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CT_EMULATOR: 'determined',
      DET_MASTER: this.opts.masterUrl(),
      DET_EXPERIMENT_ID: String(exp.id),
      DET_TRIAL_ID: String(trial.id),
      CT_EXPERIMENT_CONFIG: configFile,
      CT_HPARAMS: JSON.stringify(trial.hparams),
      CT_DATA_CONFIG: JSON.stringify(exp.config.data ?? {}),
      CT_CHECKPOINT_DIR: checkpointDir,
      CT_METRICS_FILE: metricsFile,
    };
    delete env.CT_SOURCE_CHECKPOINT_DIR;
    if (exp.sourceCheckpointUuid) {
      const source = this.store.checkpoint(exp.sourceCheckpointUuid);
      if (source) env.CT_SOURCE_CHECKPOINT_DIR = path.join(this.store.stateDir, source.dir);
    }
    this.store.appendTrialLog(trial.id, `running ${argv.join(' ')} in ${codeDir}`);
    const child = spawn(argv[0], argv.slice(1), { cwd: codeDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const pipeLines = (stream: NodeJS.ReadableStream | null, stdtype: string) => {
      let pending = '';
      stream?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) this.store.appendTrialLog(trial.id, line, stdtype === 'stderr' ? 'LOG_LEVEL_ERROR' : 'LOG_LEVEL_INFO', stdtype);
      });
      stream?.on('end', () => {
        if (pending) this.store.appendTrialLog(trial.id, pending, 'LOG_LEVEL_INFO', stdtype);
      });
    };
    pipeLines(child.stdout, 'stdout');
    pipeLines(child.stderr, 'stderr');
    const exited = new Promise<number | null>((resolve) => {
      child.on('error', (err) => {
        this.store.appendTrialLog(trial.id, `cannot start ${argv[0]}: ${err.message}`, 'LOG_LEVEL_ERROR', 'stderr');
        resolve(127);
      });
      child.on('close', (code) => resolve(code));
    });
    const live: LiveProcess = { child, exited, stopRequested: null };
    this.processes.set(exp.id, live);
    void exited.then((code) => {
      this.processes.delete(exp.id);
      if (this.closed) return;
      this.processExited(exp, trial, code, live.stopRequested, metricsFile, checkpointDir);
    });
  }

  private processExited(
    exp: ExperimentRecord,
    trial: TrialRecord,
    code: number | null,
    stopRequested: ExperimentState | null,
    metricsFile: string,
    checkpointDir: string,
  ): void {
    this.store.appendTrialLog(trial.id, `process exited with ${code === null ? 'a signal' : `code ${code}`}`);
    if (stopRequested === 'STATE_PAUSED') {
      this.setState(exp, 'STATE_PAUSED');
      return;
    }
    if (stopRequested) {
      this.finish(exp, stopRequested);
      return;
    }
    if (code !== 0) {
      this.finish(exp, 'STATE_ERROR');
      return;
    }
    let steps = 0;
    try {
      for (const r of readMetricsFile(metricsFile)) {
        this.report(trial, r.kind, { steps: r.steps, metrics: r.metrics, time: now() });
        steps = Math.max(steps, r.steps);
      }
    } catch (err) {
      this.store.appendTrialLog(trial.id, `invalid CT_METRICS_FILE: ${(err as Error).message}`, 'LOG_LEVEL_ERROR', 'stderr');
      this.finish(exp, 'STATE_ERROR');
      return;
    }
    if (fs.readdirSync(checkpointDir).length > 0) this.registerCheckpoint(exp, trial, checkpointDir, steps);
    this.finish(exp, 'STATE_COMPLETED');
  }
}

function ruleMatches(rule: OutcomeRule, exp: ExperimentRecord): boolean {
  if (rule.times !== undefined && (rule.used ?? 0) >= rule.times) return false;
  if (rule.name !== undefined && !new RegExp(rule.name).test(exp.name)) return false;
  if (rule.label !== undefined) {
    const re = new RegExp(rule.label);
    if (!exp.labels.some((l) => re.test(l))) return false;
  }
  return true;
}

function now(): string {
  return new Date().toISOString();
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function maxLengthBatches(config: Record<string, unknown>): number {
  const searcher = (config.searcher ?? {}) as Record<string, unknown>;
  const length = searcher.max_length;
  if (typeof length === 'number') return length;
  if (length && typeof length === 'object') {
    const value = Object.values(length as Record<string, unknown>).find((v) => typeof v === 'number');
    if (typeof value === 'number') return value;
  }
  return 100;
}

/** The simulated searcher metric: better with every generation of continued training. */
function simulatedMetric(exp: ExperimentRecord, generation: number): { metricName: string; value: number; loss: number } {
  const { metric, smallerIsBetter } = searcherOf(exp.config);
  const decay = Math.pow(0.8, generation);
  const loss = round(0.1 + 0.6 * decay);
  const value = smallerIsBetter ? loss : round(0.95 - 0.4 * decay);
  return { metricName: metric, value, loss };
}

/** Weights derived from the source checkpoint's weights, so continued training is visible in the files. */
function writeSimulatedCheckpoint(dir: string, exp: ExperimentRecord, trial: TrialRecord, store: MasterStore, generation: number): void {
  let weights = [0.5, -0.25, 0.125, 1, -1, 0.75, 0.3, -0.6];
  const source = exp.sourceCheckpointUuid ? store.checkpoint(exp.sourceCheckpointUuid) : undefined;
  if (source) {
    const sourceDir = path.join(store.stateDir, source.dir);
    fs.cpSync(sourceDir, dir, { recursive: true });
    fs.rmSync(path.join(dir, 'metadata.json'), { force: true });
    fs.rmSync(path.join(dir, PADDING_FILE), { force: true });
    try {
      const previous = JSON.parse(fs.readFileSync(path.join(sourceDir, 'state_dict.pth'), 'utf8')) as { weights?: number[] };
      if (Array.isArray(previous.weights)) weights = previous.weights;
    } catch {
      // The source was not written by the simulator: start from the initial weights.
    }
  }
  const updated = weights.map((w) => round(w * 0.9));
  const content = {
    format: 'ct-emulator-simulated-weights',
    generation,
    experimentId: exp.id,
    trialId: trial.id,
    sourceCheckpointUuid: exp.sourceCheckpointUuid,
    weights: updated,
  };
  fs.writeFileSync(path.join(dir, 'state_dict.pth'), JSON.stringify(content, null, 2));
  if (exp.checkpointPaddingBytes) {
    const fd = fs.openSync(path.join(dir, PADDING_FILE), 'w');
    fs.ftruncateSync(fd, exp.checkpointPaddingBytes); // a sparse file: instant whatever the size
    fs.closeSync(fd);
  }
}

const PADDING_FILE = 'padding.bin';

/** argv for a command entrypoint (`python3 train.py --x`, or a list); undefined for `module:Class`. */
export function entrypointArgv(entrypoint: unknown, python: string): string[] | undefined {
  let argv: string[];
  if (Array.isArray(entrypoint) && entrypoint.every((a) => typeof a === 'string')) argv = [...entrypoint];
  else if (typeof entrypoint === 'string' && /\s/.test(entrypoint.trim())) argv = splitCommand(entrypoint.trim());
  else if (typeof entrypoint === 'string' && entrypoint.trim().endsWith('.py')) argv = ['python3', entrypoint.trim()];
  else return undefined;
  if (argv.length === 0) return undefined;
  if (/^python(3(\.\d+)?)?$/.test(argv[0])) argv[0] = python;
  return argv;
}

/** Splits a command line on spaces, honouring single and double quotes (no shell expansion). */
function splitCommand(command: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(command))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** Writes the tar-like `File` entries (type 48 = file, 53 = directory) under `dir`, refusing escapes. */
export function extractModelDefinition(files: { path: string; type: number; content: string; mode: number }[], dir: string): void {
  for (const f of files) {
    const rel = path.posix.normalize(f.path.replace(/^\.?\/+/, ''));
    if (rel.startsWith('..') || path.posix.isAbsolute(rel)) throw new Error(`model definition path escapes the directory: ${f.path}`);
    const target = path.join(dir, rel);
    if (f.type === 53) {
      fs.mkdirSync(target, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, Buffer.from(f.content ?? '', 'base64'), { mode: (f.mode & 0o777) || 0o644 });
    }
  }
}

interface MetricsLine {
  kind: 'training' | 'validation';
  steps: number;
  metrics: Record<string, number>;
}

function readMetricsFile(file: string): MetricsLine[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  return lines.map((line, i) => {
    let parsed: Partial<MetricsLine>;
    try {
      parsed = JSON.parse(line) as Partial<MetricsLine>;
    } catch {
      throw new Error(`line ${i + 1} is not JSON`);
    }
    if (parsed.kind !== 'training' && parsed.kind !== 'validation') throw new Error(`line ${i + 1}: kind must be "training" or "validation"`);
    if (typeof parsed.steps !== 'number') throw new Error(`line ${i + 1}: steps must be a number`);
    if (!parsed.metrics || typeof parsed.metrics !== 'object') throw new Error(`line ${i + 1}: metrics must be an object`);
    return parsed as MetricsLine;
  });
}
