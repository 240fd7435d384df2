// The side effects of pipelines, read from the emulators through their public APIs (as an operator
// would check a real cluster): models, model versions and experiments in Determined, published output
// commits in Pachyderm, deployments and detectors in Seldon Deploy.
import { PachdRestClient } from '@continuous-training/emulators/pachyderm';
import type { ConnectionsConfig } from 'continuous-training/activities';
import type { PipelineSpec } from 'continuous-training/common/pipeline';

export interface Effects {
  /** Registry models named exactly like the pipeline's model. */
  models: number;
  modelVersions: { version: number; commit: string | null }[];
  /** Experiments labelled with the pipeline's name: id, state and the input commit it trained on. */
  experiments: { id: number; state: string; commit: string | null }[];
  /** Output commits published by training (`ct-publish …` descriptions), finished or not, errored or not. */
  publishCommits: { id: string; description: string; finished: boolean; error: string }[];
  /** SeldonDeployments with the pipeline's deployment name, and the registry version each serves. */
  deployments: { name: string; registryVersion: string | null; outputCommit: string | null; state: string | null }[];
  driftDetectors: number;
  outlierDetectors: number;
}

type Json = Record<string, unknown>;

async function json(url: string, init: RequestInit = {}): Promise<Json> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw Object.assign(new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`), { status: res.status });
  return text ? (JSON.parse(text) as Json) : {};
}

export class EffectsReader {
  private detToken: string | null = null;
  private seldonToken: string | null = null;

  constructor(private readonly connections: ConnectionsConfig) {}

  private async det(path: string): Promise<Json> {
    const { url, user, password } = this.connections.determined;
    if (!this.detToken) {
      const login = await json(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password }) });
      this.detToken = String(login.token);
    }
    return json(`${url}${path}`, { headers: { authorization: `Bearer ${this.detToken}` } });
  }

  private async seldon(path: string): Promise<Json> {
    const s = this.connections.seldon;
    if (!this.seldonToken) {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: s.clientId, client_secret: s.clientSecret ?? '' });
      const token = await json(`${s.oidcIssuer}/protocol/openid-connect/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      this.seldonToken = String(token.id_token ?? token.access_token);
    }
    return json(`${s.url}/seldon-deploy/api/v1alpha1${path}`, { headers: { authorization: `Bearer ${this.seldonToken}` } });
  }

  async read(pipeline: PipelineSpec): Promise<Effects> {
    const name = encodeURIComponent(pipeline.modelName);
    const models = ((await this.det(`/api/v1/models?name=${name}&limit=1000`)).models as Json[] | undefined) ?? [];
    const exact = models.filter((m) => m.name === pipeline.modelName);
    const versions = exact.length
      ? (((await this.det(`/api/v1/models/${name}/versions?limit=1000`)).modelVersions as Json[] | undefined) ?? [])
      : [];
    const experiments = ((await this.det(`/api/v1/experiments?labels=${encodeURIComponent(pipeline.name)}&limit=1000`)).experiments as Json[] | undefined) ?? [];

    const pachd = new PachdRestClient({ url: this.connections.pachyderm.url, authToken: this.connections.pachyderm.token });
    let commits: Json[] = [];
    try {
      commits = await pachd.list<Json>('pfs_v2.API/ListCommit', { repo: { name: pipeline.output.repo, type: 'user', project: { name: pipeline.output.project } }, all: true });
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
    }
    const publishCommits = commits
      .filter((c) => String(c.description ?? '').startsWith('ct-publish '))
      .map((c) => ({
        id: String((c.commit as Json).id),
        description: String(c.description),
        finished: Boolean(c.finished),
        error: String(c.error ?? ''),
      }));

    const ns = encodeURIComponent(pipeline.deployment.namespace);
    const items = ((await this.seldon(`/namespaces/${ns}/seldondeployments`)).items as Json[] | undefined) ?? [];
    const deployments = items
      .filter((d) => (d.metadata as Json).name === pipeline.deployment.name)
      .map((d) => {
        const annotations = ((d.metadata as Json).annotations ?? {}) as Record<string, string>;
        return {
          name: String((d.metadata as Json).name),
          registryVersion: annotations['continuous-training.io/registry-version'] ?? null,
          outputCommit: annotations['continuous-training.io/output-commit'] ?? null,
          state: ((d.status as Json | undefined)?.state as string | undefined) ?? null,
        };
      });
    const detectors = async (kind: 'drift' | 'outlier') => {
      if (!deployments.length) return 0;
      const list = (await this.seldon(`/namespaces/${ns}/seldondeployments/${encodeURIComponent(pipeline.deployment.name)}/monitor/${kind}-detector`)) as unknown;
      return Array.isArray(list) ? list.length : 0;
    };
    return {
      models: exact.length,
      modelVersions: versions.map((v) => ({ version: Number(v.version), commit: ((v.metadata as Json | undefined)?.commit as string | undefined) ?? null })),
      experiments: experiments.map((e) => ({
        id: Number(e.id),
        state: String(e.state),
        commit: ((e.labels as string[] | undefined) ?? []).find((l) => /^[0-9a-f]{32}$/.test(l)) ?? null,
      })),
      publishCommits,
      deployments,
      driftDetectors: await detectors('drift'),
      outlierDetectors: await detectors('outlier'),
    };
  }
}

/** Exactly one of everything for a pipeline that trained and deployed `commits` (in order), each once. */
export function expectExactlyOnce(effects: Effects, commits: string[], opts: { detectors?: boolean } = {}): void {
  const n = commits.length;
  expect({
    models: effects.models,
    experiments: effects.experiments.map((e) => e.commit).sort(),
    versions: effects.modelVersions.map((v) => v.version).sort((a, b) => a - b),
    versionCommits: effects.modelVersions.map((v) => v.commit).sort(),
    publishCommits: effects.publishCommits.length,
    publishFinished: effects.publishCommits.filter((c) => c.finished && !c.error).length,
    deployments: effects.deployments.length,
    servedVersion: effects.deployments[0]?.registryVersion,
    driftDetectors: effects.driftDetectors,
    outlierDetectors: effects.outlierDetectors,
  }).toEqual({
    models: 1,
    experiments: [...commits].sort(),
    versions: Array.from({ length: n }, (_, i) => i + 1),
    versionCommits: [...commits].sort(),
    publishCommits: n,
    publishFinished: n,
    deployments: 1,
    servedVersion: String(n),
    driftDetectors: opts.detectors === false ? 0 : 1,
    outlierDetectors: opts.detectors === false ? 0 : 1,
  });
}
