// A typed client for the Determined master's REST API (grpc-gateway v1 under /api/v1), logged in with
// user and password; the token is renewed by logging in again when the master answers 401.
import type { Readable } from 'node:stream';
import type { ConnectionsConfig } from '../config';
import { ErrorType } from '../../common/errors';
import { HttpClient, createAgents, type AuthProvider } from '../http/client';
import { failure } from '../http/errors';
import type {
  CreateExperimentRequest,
  CreateExperimentResponse,
  GetExperimentCheckpointsResponse,
  GetExperimentResponse,
  GetExperimentsResponse,
  Model,
  ModelVersion,
  PostModelRequest,
  PostModelVersionRequest,
} from './types';

class DeterminedLogin implements AuthProvider {
  private token: Promise<string> | null = null;

  constructor(
    private readonly http: HttpClient,
    private readonly user: string,
    private readonly password: string,
  ) {}

  async headers(): Promise<Record<string, string>> {
    this.token ??= this.login();
    try {
      return { authorization: `Bearer ${await this.token}` };
    } catch (err) {
      this.token = null; // do not cache a failed login
      throw err;
    }
  }

  async refresh(): Promise<void> {
    this.token = this.login();
    await this.token.catch(() => undefined);
  }

  private async login(): Promise<string> {
    try {
      const res = await this.http.json<{ token: string }>({
        method: 'POST',
        path: '/api/v1/auth/login',
        body: { username: this.user, password: this.password },
        uncancellable: true, // shared by concurrent activities: one activity's cancellation must not fail the others
      });
      return res.token;
    } catch (err) {
      const f = err as { type?: string; message?: string };
      if (f.type === ErrorType.Unauthenticated || f.type === ErrorType.BadRequest) {
        throw failure(ErrorType.Unauthenticated, `Determined login as ${JSON.stringify(this.user)} failed: ${f.message}`, true);
      }
      throw err;
    }
  }
}

export class DeterminedClient {
  private readonly http: HttpClient;

  constructor(config: ConnectionsConfig, agents = createAgents(config)) {
    const login = new DeterminedLogin(new HttpClient(config.determined.url, config, agents), config.determined.user, config.determined.password);
    this.http = new HttpClient(config.determined.url, config, agents, login);
  }

  getExperiment(id: number): Promise<GetExperimentResponse> {
    return this.http.json({ method: 'GET', path: `/api/v1/experiments/${id}` });
  }

  getExperiments(query: { labels?: string[]; limit?: number; orderBy?: string; sortBy?: string }): Promise<GetExperimentsResponse> {
    return this.http.json({ method: 'GET', path: '/api/v1/experiments', query });
  }

  createExperiment(body: CreateExperimentRequest): Promise<CreateExperimentResponse> {
    return this.http.json({ method: 'POST', path: '/api/v1/experiments', body });
  }

  /** `uncancellable`: killing is the clean-up of a cancelled activity. */
  killExperiment(id: number): Promise<unknown> {
    return this.http.json({ method: 'POST', path: `/api/v1/experiments/${id}/kill`, uncancellable: true });
  }

  getExperimentCheckpoints(
    id: number,
    query: { sortByAttr?: string; sortByMetric?: string; orderBy?: string; states?: string[]; offset?: number; limit?: number },
  ): Promise<GetExperimentCheckpointsResponse> {
    return this.http.json({ method: 'GET', path: `/api/v1/experiments/${id}/checkpoints`, query });
  }

  getModel(name: string): Promise<{ model: Model }> {
    return this.http.json({ method: 'GET', path: `/api/v1/models/${encodeURIComponent(name)}` });
  }

  /** The master matches `name` as a substring: callers filter exactly. */
  getModels(query: { name?: string; limit?: number; offset?: number }): Promise<{ models: Model[] }> {
    return this.http.json({ method: 'GET', path: '/api/v1/models', query });
  }

  postModel(body: PostModelRequest): Promise<{ model: Model }> {
    return this.http.json({ method: 'POST', path: '/api/v1/models', body });
  }

  getModelVersions(
    name: string,
    query: { sortBy?: string; orderBy?: string; offset?: number; limit?: number },
  ): Promise<{ model: Model; modelVersions: ModelVersion[]; pagination?: { total?: number; endIndex?: number } }> {
    return this.http.json({ method: 'GET', path: `/api/v1/models/${encodeURIComponent(name)}/versions`, query });
  }

  /** GetModelVersion: one version by its number (404 when the model or the version does not exist). */
  getModelVersion(name: string, version: number): Promise<{ modelVersion: ModelVersion }> {
    return this.http.json({ method: 'GET', path: `/api/v1/models/${encodeURIComponent(name)}/versions/${version}` });
  }

  postModelVersion(body: PostModelVersionRequest): Promise<{ modelVersion: ModelVersion }> {
    return this.http.json({ method: 'POST', path: `/api/v1/models/${encodeURIComponent(body.modelName)}/versions`, body });
  }

  /** Streams a checkpoint as a tar archive (an echo route outside /api/v1). */
  downloadCheckpoint(uuid: string): Promise<Readable> {
    return this.http.stream({ method: 'GET', path: `/checkpoints/${encodeURIComponent(uuid)}`, headers: { accept: 'application/x-tar' } });
  }
}
