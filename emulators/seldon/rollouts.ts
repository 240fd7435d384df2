// What Seldon Core and Kubernetes do after the API stored a SeldonDeployment: the controller picks the new
// generation up after a while (until then the status is the previous one: it is a subresource the API leaves alone),
// rolls it out (starts the model's container when a runtime matches its image, else simulates it), moves the status
// Creating → Available | Failed, keeps the previous generation serving until the new one is ready, and stops
// containers that are no longer needed.
import { buildStatus, servedPredictor } from './status';
import { containerForUnit } from './validation';
import { findOutcome } from './outcomes';
import { findRuntime, freePorts, ModelProcess, type RuntimeConfig } from './model-process';
import { deploymentKey, type SeldonStore, type StoredDeployment } from './store';
import type { Container, DeploymentState, SeldonDeploymentSpec } from './types';

export interface RolloutOptions {
  /** How long after a create or an update the controller takes to write its first status for the new generation. */
  staleStatusMs: number;
  /** Time a rollout takes when no outcome rule says otherwise. */
  availableDelayMs: number;
  /** How long a started container may take to answer `/health/ping` 200. */
  readinessTimeoutMs: number;
  /** The emulator's base URL (for `status.address.url`). */
  baseUrl: () => string;
  log?: NodeJS.WritableStream | null;
}

/** What answers predictions for a deployment. */
export type ServingInstance =
  | { generation: number; kind: 'process'; process: ModelProcess }
  | { generation: number; kind: 'simulated'; image?: string; reason: string };

/** A container could not be configured or started; the message goes to `status.description`. */
class RolloutError extends Error {}

/** Where a served predictor's root unit runs. */
function servedUnit(spec: SeldonDeploymentSpec) {
  const predictor = servedPredictor(spec.predictors);
  const container = containerForUnit(predictor, predictor.graph.name);
  return { predictor, unit: predictor.graph, container };
}

export class RolloutController {
  private readonly inFlight = new Map<string, { generation: number; abort: AbortController; done: Promise<void> }>();
  private readonly serving = new Map<string, ServingInstance>();
  private closed = false;

  constructor(
    private readonly store: SeldonStore,
    private readonly opts: RolloutOptions,
  ) {}

  /** Starts rolling out the stored generation of a deployment, superseding any rollout in progress. */
  start(namespace: string, name: string, opts: { skipDelay?: boolean } = {}): void {
    const key = deploymentKey(namespace, name);
    this.abort(key);
    const record = this.store.get(namespace, name);
    if (!record || this.closed) return;
    const generation = record.resource.metadata.generation ?? 1;
    const abort = new AbortController();
    const done = this.rollout(namespace, name, generation, abort.signal, opts.skipDelay ?? false).catch((err: unknown) => {
      this.logEvent({ event: 'rollout-error', deployment: key, error: String(err) });
    });
    this.inFlight.set(key, { generation, abort, done });
    void done.finally(() => {
      if (this.inFlight.get(key)?.abort === abort) this.inFlight.delete(key);
    });
  }

  /** Stops everything of a deleted deployment. */
  async remove(namespace: string, name: string): Promise<void> {
    const key = deploymentKey(namespace, name);
    this.abort(key);
    const instance = this.serving.get(key);
    this.serving.delete(key);
    if (instance?.kind === 'process') await instance.process.stop();
  }

  /** After a restart: bring back what was serving and resume rollouts that were in progress. */
  resume(): void {
    for (const record of Object.values(this.store.state.deployments)) {
      const { name, namespace = 'default', generation = 1 } = record.resource.metadata;
      const state = record.resource.status?.state;
      const current = record.serving?.generation === generation;
      // State files written before reconciledGeneration existed had it in the status.
      const reconciled = record.reconciledGeneration ?? record.resource.status?.observedGeneration;
      if (reconciled !== generation) {
        // The controller had not picked this generation up: it does now (the status stays stale until then).
        if (record.serving && !current) this.restoreInBackground(namespace, name, record);
        this.start(namespace, name);
      } else if (state === 'Creating' || (state === 'Available' && current)) {
        // The serving generation of a finished rollout is rolled out again (containers do not survive the emulator).
        if (record.serving && !current) this.restoreInBackground(namespace, name, record);
        // Until its container answers again the deployment is not Available (what a pod restart shows too).
        if (state === 'Available') this.setStatus(record, 'Creating');
        this.start(namespace, name, { skipDelay: state === 'Available' });
      } else if (record.serving) {
        this.restoreInBackground(namespace, name, record);
      }
    }
  }

  servingInstance(namespace: string, name: string): ServingInstance | undefined {
    return this.serving.get(deploymentKey(namespace, name));
  }

  /** Running containers, for the control routes and tests. */
  processes(): { deployment: string; generation: number; pid?: number; port: number; serving: boolean }[] {
    const out: { deployment: string; generation: number; pid?: number; port: number; serving: boolean }[] = [];
    for (const [deployment, instance] of this.serving) {
      if (instance.kind === 'process' && instance.process.running) {
        out.push({ deployment, generation: instance.generation, pid: instance.process.pid, port: instance.process.port, serving: true });
      }
    }
    for (const [proc, pending] of this.pendingProcesses) {
      if (proc.running) out.push({ deployment: pending.deployment, generation: pending.generation, pid: proc.pid, port: proc.port, serving: false });
    }
    return out;
  }

  /** Aborts rollouts and stops every container. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    const rollouts = [...this.inFlight.values()];
    for (const r of rollouts) r.abort.abort();
    await Promise.all([...rollouts.map((r) => r.done), ...this.restores]);
    const stops = [...this.serving.values()].map((i) => (i.kind === 'process' ? i.process.stop() : Promise.resolve()));
    this.serving.clear();
    await Promise.all([...stops, ...[...this.pendingProcesses.keys()].map((p) => p.stop())]);
  }

  /** Containers started by a rollout (or a restore) that are not serving yet. */
  private readonly pendingProcesses = new Map<ModelProcess, { deployment: string; generation: number }>();
  /** Aborted by close(): ends restores of serving containers. */
  private readonly closing = new AbortController();
  private readonly restores = new Set<Promise<void>>();

  private abort(key: string): void {
    this.inFlight.get(key)?.abort.abort();
    this.inFlight.delete(key);
  }

  private async rollout(namespace: string, name: string, generation: number, signal: AbortSignal, skipDelay: boolean): Promise<void> {
    const key = deploymentKey(namespace, name);
    const record = this.store.get(namespace, name);
    if (!record) return;
    const spec = record.resource.spec;
    const { container } = servedUnit(spec);
    const outcome = findOutcome(this.store.state.outcomes, namespace, name, container?.image);
    const stale = skipDelay ? 0 : (outcome?.staleStatusMs ?? this.opts.staleStatusMs);
    if (stale > 0 && !(await sleep(stale, signal))) return;
    if (signal.aborted) return;
    this.reconcile(namespace, name, generation);
    const delay = skipDelay ? 0 : (outcome?.delayMs ?? this.opts.availableDelayMs);
    if (delay > 0 && !(await sleep(delay, signal))) return;
    if (signal.aborted) return;

    if (outcome?.state === 'Failed') {
      this.finish(namespace, name, generation, 'Failed', outcome.message ?? `rollout of ${name} failed (configured outcome)`);
      return;
    }
    let instance: ServingInstance;
    try {
      instance = await this.launch(namespace, name, generation, spec, signal);
    } catch (err) {
      if (signal.aborted) return;
      this.finish(namespace, name, generation, 'Failed', (err as Error).message);
      return;
    }
    if (signal.aborted) {
      if (instance.kind === 'process') await instance.process.stop();
      return;
    }
    const previous = this.serving.get(key);
    this.serving.set(key, instance);
    record.serving = { generation, spec };
    this.finish(namespace, name, generation, 'Available');
    if (previous?.kind === 'process' && previous.process !== (instance.kind === 'process' ? instance.process : undefined)) {
      await previous.process.stop();
    }
  }

  /** Starts the container of a generation (or decides it is simulated). Throws RolloutError with the reason. */
  private async launch(
    namespace: string,
    name: string,
    generation: number,
    spec: SeldonDeploymentSpec,
    signal: AbortSignal,
  ): Promise<ServingInstance> {
    const key = deploymentKey(namespace, name);
    const { predictor, unit, container } = servedUnit(spec);
    if (!container?.image) {
      return { generation, kind: 'simulated', reason: `the graph unit ${unit.name} has no container with an image (prepackaged servers are not run)` };
    }
    const runtime = findRuntime(this.store.state.runtimes, container.image);
    if (!runtime) {
      return { generation, kind: 'simulated', image: container.image, reason: `no runtime is configured for image ${container.image}` };
    }
    const containerEnv = this.containerEnv(namespace, container);
    const [httpPort, grpcPort, metricsPort] = await freePorts(3);
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...containerEnv,
      PREDICTIVE_UNIT_PARAMETERS: JSON.stringify(unit.parameters ?? []),
      PREDICTIVE_UNIT_ID: unit.name,
      PREDICTIVE_UNIT_IMAGE: container.image,
      PREDICTOR_ID: predictor.name,
      PREDICTOR_LABELS: '{}',
      SELDON_DEPLOYMENT_ID: name,
      POD_NAMESPACE: namespace,
      PREDICTIVE_UNIT_HTTP_SERVICE_PORT: String(httpPort),
      PREDICTIVE_UNIT_SERVICE_PORT: String(httpPort),
      PREDICTIVE_UNIT_GRPC_SERVICE_PORT: String(grpcPort),
      PREDICTIVE_UNIT_METRICS_SERVICE_PORT: String(metricsPort),
      PREDICTIVE_UNIT_METRICS_ENDPOINT: '/prometheus',
    };
    if (signal.aborted || this.closed) throw new RolloutError('aborted');
    const proc = new ModelProcess({ runtime: runtime as RuntimeConfig, env, httpPort, label: `${key}@${generation}`, log: this.opts.log });
    this.pendingProcesses.set(proc, { deployment: key, generation });
    try {
      await proc.waitReady(this.opts.readinessTimeoutMs, signal);
    } catch (err) {
      await proc.stop();
      throw new RolloutError((err as Error).message);
    } finally {
      this.pendingProcesses.delete(proc);
    }
    return { generation, kind: 'process', process: proc };
  }

  /** The container's environment: `envFrom` secrets first, then `env` (which wins), as Kubernetes builds it. */
  private containerEnv(namespace: string, container: Container): Record<string, string> {
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      const secretName = source.secretRef?.name;
      if (!secretName) continue;
      const secret = this.store.state.secrets[deploymentKey(namespace, secretName)];
      if (!secret) {
        if (source.secretRef?.optional) continue;
        throw new RolloutError(`CreateContainerConfigError: secret "${secretName}" not found (container ${container.name})`);
      }
      for (const [k, v] of Object.entries(secret)) env[`${source.prefix ?? ''}${k}`] = v;
    }
    for (const entry of container.env ?? []) {
      const ref = entry.valueFrom?.secretKeyRef;
      if (ref) {
        const secret = ref.name ? this.store.state.secrets[deploymentKey(namespace, ref.name)] : undefined;
        const value = secret?.[ref.key];
        if (value === undefined) {
          if (ref.optional) continue;
          const what = secret ? `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}` : `secret "${ref.name}" not found`;
          throw new RolloutError(`CreateContainerConfigError: ${what} (container ${container.name}, env ${entry.name})`);
        }
        env[entry.name] = value;
      } else {
        env[entry.name] = entry.value ?? '';
      }
    }
    return env;
  }

  private restoreInBackground(namespace: string, name: string, record: StoredDeployment): void {
    const task = this.restoreServing(namespace, name, record);
    this.restores.add(task);
    void task.finally(() => this.restores.delete(task));
  }

  /** Restarts the container of the serving generation without touching the status (after a restart). */
  private async restoreServing(namespace: string, name: string, record: StoredDeployment): Promise<void> {
    if (!record.serving || this.closed) return;
    const key = deploymentKey(namespace, name);
    try {
      const instance = await this.launch(namespace, name, record.serving.generation, record.serving.spec, this.closing.signal);
      if (this.closed || this.store.get(namespace, name) !== record || this.serving.has(key)) {
        if (instance.kind === 'process') await instance.process.stop();
        return;
      }
      this.serving.set(key, instance);
    } catch (err) {
      this.logEvent({ event: 'restore-failed', deployment: key, error: (err as Error).message });
    }
  }

  /**
   * The controller picks a generation up: the status becomes Creating (written only when it changes, as Seldon
   * Core skips a status update that would change nothing), unless a newer generation or a delete superseded it.
   */
  private reconcile(namespace: string, name: string, generation: number): void {
    const record = this.store.get(namespace, name);
    if (!record || (record.resource.metadata.generation ?? 1) !== generation || this.closed) return;
    record.reconciledGeneration = generation;
    if (record.resource.status?.state === 'Creating') this.store.save();
    else this.setStatus(record, 'Creating');
  }

  /** Records the end of a rollout, unless a newer generation or a delete superseded it. */
  private finish(namespace: string, name: string, generation: number, state: DeploymentState, description?: string): void {
    const record = this.store.get(namespace, name);
    if (!record || (record.resource.metadata.generation ?? 1) !== generation || this.closed) return;
    this.setStatus(record, state, description);
    this.logEvent({ event: 'rollout', deployment: deploymentKey(namespace, name), generation, state, description });
  }

  /** Writes a status (and a new resourceVersion) and persists it. */
  private setStatus(record: StoredDeployment, state: DeploymentState, description?: string): void {
    record.resource.status = buildStatus(record.resource, state, {
      description,
      serving: record.serving !== undefined,
      baseUrl: this.opts.baseUrl(),
    });
    record.resource.metadata.resourceVersion = this.store.nextResourceVersion();
    this.store.save();
  }

  private logEvent(event: Record<string, unknown>): void {
    this.opts.log?.write(JSON.stringify({ ts: new Date().toISOString(), emulator: 'seldon', ...event }) + '\n');
  }
}

/** Waits `ms`; false when aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
