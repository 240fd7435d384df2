// Everything the Seldon emulator knows, in one JSON document in the state directory (rewritten atomically).
import path from 'node:path';
import { JsonFile } from '../common/state';
import type { RuntimeConfig } from './model-process';
import type { OutcomeRule } from './outcomes';
import type { DetectorData, DetectorKind, SeldonDeployment, SeldonDeploymentSpec } from './types';

export interface StoredDeployment {
  /** The object as the API returns it (metadata, spec, status). */
  resource: SeldonDeployment;
  /** The generation that serves predictions (the last one that became Available) and its spec. */
  serving?: { generation: number; spec: SeldonDeploymentSpec };
  /**
   * The generation the emulated controller has picked up (its status is about it). Until then the status is the
   * previous one, or none after a create. Seldon Core keeps this to itself: the status has no observedGeneration.
   */
  reconciledGeneration?: number;
  detectors: Record<DetectorKind, Record<string, DetectorData>>;
}

export interface SeldonState {
  /** Kubernetes-style resourceVersion counter, shared by all objects. */
  resourceVersion: number;
  /** Keyed by `namespace/name`. */
  deployments: Record<string, StoredDeployment>;
  /** Emulated Kubernetes secrets, keyed by `namespace/name`; values are plain strings. */
  secrets: Record<string, Record<string, string>>;
  outcomes: OutcomeRule[];
  runtimes: RuntimeConfig[];
}

export const deploymentKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class SeldonStore {
  private readonly file: JsonFile<SeldonState>;
  readonly state: SeldonState;

  constructor(stateDir: string) {
    this.file = new JsonFile<SeldonState>(path.join(stateDir, 'seldon-state.json'), () => ({
      resourceVersion: 0,
      deployments: {},
      secrets: {},
      outcomes: [],
      runtimes: [],
    }));
    this.state = this.file.load();
  }

  nextResourceVersion(): string {
    this.state.resourceVersion += 1;
    return String(this.state.resourceVersion);
  }

  get(namespace: string, name: string): StoredDeployment | undefined {
    return this.state.deployments[deploymentKey(namespace, name)];
  }

  /** Writes the whole state; called after every change so a kill loses nothing acknowledged. */
  save(): void {
    this.file.save(this.state);
  }
}
