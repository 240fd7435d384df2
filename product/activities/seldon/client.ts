// A typed client for Seldon Deploy's REST API (`/seldon-deploy/api/v1alpha1`), authenticated by OIDC.
import type { ConnectionsConfig } from '../config';
import { HttpClient, createAgents } from '../http/client';
import { SeldonOidcAuth } from './auth';
import type { DetectorConfigData, DetectorData, DetectorKind, SeldonDeployment } from './types';

const BASE = '/seldon-deploy/api/v1alpha1';

export class SeldonClient {
  private readonly http: HttpClient;

  constructor(config: ConnectionsConfig, agents = createAgents(config)) {
    // The token endpoint may live on another host (the issuer): that client has no base URL of its own.
    const auth = new SeldonOidcAuth(new HttpClient('', config, agents), config.seldon);
    this.http = new HttpClient(config.seldon.url + BASE, config, agents, auth);
  }

  readSeldonDeployment(namespace: string, name: string): Promise<SeldonDeployment> {
    return this.http.json({ method: 'GET', path: deploymentPath(namespace, name) });
  }

  createSeldonDeployment(namespace: string, body: SeldonDeployment): Promise<SeldonDeployment> {
    return this.http.json({ method: 'POST', path: `/namespaces/${encodeURIComponent(namespace)}/seldondeployments`, body });
  }

  updateSeldonDeployment(namespace: string, name: string, body: SeldonDeployment): Promise<SeldonDeployment> {
    return this.http.json({ method: 'PUT', path: deploymentPath(namespace, name), body });
  }

  deleteSeldonDeployment(namespace: string, name: string): Promise<unknown> {
    return this.http.json({ method: 'DELETE', path: deploymentPath(namespace, name) });
  }

  listDetectors(kind: DetectorKind, namespace: string, deployment: string): Promise<DetectorData[] | null> {
    return this.http.json({ method: 'GET', path: detectorsPath(kind, namespace, deployment) });
  }

  createDetector(kind: DetectorKind, namespace: string, deployment: string, body: DetectorConfigData): Promise<DetectorData> {
    return this.http.json({ method: 'POST', path: detectorsPath(kind, namespace, deployment), body });
  }

  deleteDetector(kind: DetectorKind, namespace: string, deployment: string, detector: string): Promise<unknown> {
    return this.http.json({ method: 'DELETE', path: `${detectorsPath(kind, namespace, deployment)}/${encodeURIComponent(detector)}` });
  }
}

function deploymentPath(namespace: string, name: string): string {
  return `/namespaces/${encodeURIComponent(namespace)}/seldondeployments/${encodeURIComponent(name)}`;
}

function detectorsPath(kind: DetectorKind, namespace: string, deployment: string): string {
  return `${deploymentPath(namespace, deployment)}/monitor/${kind}-detector`;
}
