// pachd's auth as the emulator keeps it: the configured root token (subject `pach:root`, cluster admin),
// robot tokens minted by GetRobotToken (stored hashed, with their expiry, as pachd's auth.auth_tokens),
// and role bindings on the cluster and on repos. Checks follow pachd: src/server/auth/server/api_server.go
// (getAuthenticatedUser, GetRobotToken, ModifyRoleBinding), util.go (checkResourceIsAuthorized) and
// roles.go (what each role allows); the errors are src/auth/auth.go's, word for word.
import crypto from 'node:crypto';
import path from 'node:path';
import { JsonFile } from '../common/state';
import { ERR_BAD_TOKEN, ERR_NOT_ACTIVATED, ERR_NOT_SIGNED_IN, GrpcCode, PachError, invalidArgument } from './errors';

export const ROOT_SUBJECT = 'pach:root';
export const ROBOT_PREFIX = 'robot:';

/** auth.ErrExpiredToken: what pachd answers for an expired token until its hourly clean-up deletes it. */
export const ERR_EXPIRED_TOKEN = 'token expiration is in the past';

export type Permission =
  | 'REPO_READ'
  | 'REPO_WRITE'
  | 'REPO_MODIFY_BINDINGS'
  | 'REPO_DELETE'
  | 'REPO_INSPECT_COMMIT'
  | 'REPO_LIST_COMMIT'
  | 'REPO_DELETE_COMMIT'
  | 'REPO_CREATE_BRANCH'
  | 'REPO_LIST_BRANCH'
  | 'REPO_DELETE_BRANCH'
  | 'REPO_INSPECT_FILE'
  | 'REPO_LIST_FILE'
  | 'PROJECT_CREATE_REPO'
  | 'CLUSTER_MODIFY_BINDINGS'
  | 'CLUSTER_AUTH_GET_ROBOT_TOKEN';

// roles.go (the permissions the emulator checks; pipeline and other cluster permissions left out).
const REPO_READER: Permission[] = ['REPO_READ', 'REPO_INSPECT_COMMIT', 'REPO_LIST_COMMIT', 'REPO_LIST_BRANCH', 'REPO_LIST_FILE', 'REPO_INSPECT_FILE'];
const REPO_WRITER: Permission[] = [...REPO_READER, 'REPO_WRITE', 'REPO_DELETE_COMMIT', 'REPO_CREATE_BRANCH', 'REPO_DELETE_BRANCH'];
const REPO_OWNER: Permission[] = [...REPO_WRITER, 'REPO_MODIFY_BINDINGS', 'REPO_DELETE'];
const PROJECT_WRITER: Permission[] = ['PROJECT_CREATE_REPO'];
const ROLES: Record<string, { permissions: Permission[] }> = {
  repoReader: { permissions: REPO_READER },
  repoWriter: { permissions: REPO_WRITER },
  repoOwner: { permissions: REPO_OWNER },
  robotUser: { permissions: ['CLUSTER_AUTH_GET_ROBOT_TOKEN'] },
  clusterAdmin: { permissions: [] }, // every permission: see clusterGrants
};

export type ResourceType = 'CLUSTER' | 'REPO' | 'PROJECT';
export interface Resource {
  type: ResourceType;
  /** `project/repo` for a repo, the project's name for a project, '' for the cluster. */
  name: string;
}

export interface Caller {
  subject: string;
  /** RFC 3339, or null for a token that does not expire. */
  expiration: string | null;
}

interface AuthState {
  /** sha256(token) -> who it is, as pachd stores auth tokens (HashToken). */
  tokens: Record<string, { subject: string; expiration: string | null }>;
  /** resource key (`CLUSTER`, `REPO:project/repo`) -> principal -> roles. */
  bindings: Record<string, Record<string, string[]>>;
}

const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');
const resourceKey = (r: Resource) => (r.type === 'CLUSTER' ? 'CLUSTER' : `${r.type}:${r.name}`);

/** pachd's ErrNotAuthorized (code PermissionDenied). Go prints the permission slice as `[A B]`. */
export function notAuthorized(subject: string, resource: Resource, required: Permission[]): PachError {
  return new PachError(
    GrpcCode.PermissionDenied,
    `${subject} is not authorized to perform this operation - needs permissions [${required.join(' ')}] on ${resource.type} ${resource.name}. Run \`pachctl auth roles-for-permission\` to find roles that grant a given permission.`,
  );
}

/** pachd's ErrNoRoleBinding: a resource with no binding at all (for repos: one that does not exist). Code Unknown. */
function noRoleBinding(resource: Resource): PachError {
  return new PachError(GrpcCode.Unknown, `no role binding exists for ${resource.type} ${resource.name}`);
}

export class PachAuth {
  private readonly file: JsonFile<AuthState> | undefined;
  private readonly state: AuthState;

  /** `rootToken` undefined: auth is not activated. `stateDir`: tokens and bindings survive restarts. */
  constructor(
    private readonly rootToken: string | undefined,
    stateDir?: string,
  ) {
    this.file = stateDir ? new JsonFile<AuthState>(path.join(stateDir, 'auth.json'), () => ({ tokens: {}, bindings: {} })) : undefined;
    this.state = this.file?.load() ?? { tokens: {}, bindings: {} };
  }

  get enabled(): boolean {
    return !!this.rootToken;
  }

  /** Who a token is (getAuthenticatedUser), or undefined when auth is off. */
  authenticate(token: string | undefined): Caller | undefined {
    if (!this.rootToken) return undefined;
    if (!token) throw new PachError(GrpcCode.Unauthenticated, ERR_NOT_SIGNED_IN);
    if (token === this.rootToken) return { subject: ROOT_SUBJECT, expiration: null };
    const info = this.state.tokens[hashToken(token)];
    if (!info) throw new PachError(GrpcCode.Unauthenticated, ERR_BAD_TOKEN);
    if (info.expiration !== null && Date.now() > Date.parse(info.expiration)) throw new PachError(GrpcCode.Internal, ERR_EXPIRED_TOKEN);
    return { ...info };
  }

  /** WhoAmI's answer. */
  whoAmI(caller: Caller | undefined): { username: string; expiration: string | null } {
    if (!caller) throw new PachError(GrpcCode.Unimplemented, ERR_NOT_ACTIVATED);
    return { username: caller.subject, expiration: caller.expiration };
  }

  private rolesOf(subject: string, resource: Resource): string[] {
    return this.state.bindings[resourceKey(resource)]?.[subject] ?? [];
  }

  /** Whether the subject's cluster roles grant `p` everywhere (root is cluster admin). */
  private clusterGrants(subject: string, p: Permission): boolean {
    if (subject === ROOT_SUBJECT) return true;
    return this.rolesOf(subject, { type: 'CLUSTER', name: '' }).some((r) => r === 'clusterAdmin' || ROLES[r]?.permissions.includes(p));
  }

  /**
   * checkResourceIsAuthorized: nothing when auth is off. Cluster roles are checked first (so for a cluster
   * admin a missing repo is then the method's own NotFound); anyone else gets ErrNoRoleBinding for a repo
   * that does not exist, else ErrNotAuthorized naming every permission asked for.
   */
  authorize(caller: Caller | undefined, resource: Resource, required: Permission[], exists = true): void {
    if (!caller) return;
    if (required.every((p) => this.clusterGrants(caller.subject, p))) return;
    if (resource.type === 'REPO' && !exists) throw noRoleBinding(resource);
    const roles = resource.type === 'REPO' ? this.rolesOf(caller.subject, resource) : [];
    // Auth activation makes allClusterUsers projectWriter on the default project (pfs ActivateAuthInTransaction).
    const everyone = resource.type === 'PROJECT' && resource.name === 'default' ? PROJECT_WRITER : [];
    const granted = (p: Permission) =>
      this.clusterGrants(caller.subject, p) || everyone.includes(p) || roles.some((r) => ROLES[r]?.permissions.includes(p));
    if (!required.every(granted)) throw notAuthorized(caller.subject, resource, required);
  }

  /** GetRobotToken: a new token for `robot:<name>`; ttl seconds, 0 (or less) for one that never expires. */
  getRobotToken(caller: Caller | undefined, robot: string, ttlSeconds: number): string {
    if (!caller) throw new PachError(GrpcCode.Unimplemented, ERR_NOT_ACTIVATED);
    this.authorize(caller, { type: 'CLUSTER', name: '' }, ['CLUSTER_AUTH_GET_ROBOT_TOKEN']);
    const name = robot.startsWith(ROBOT_PREFIX) ? robot.slice(ROBOT_PREFIX.length) : robot;
    if (name.includes(':')) throw new PachError(GrpcCode.Unknown, "robot names cannot contain colons (':')");
    const token = crypto.randomBytes(16).toString('hex'); // uuid.NewWithoutDashes: 32 hex digits
    const expiration = ttlSeconds > 0 ? new Date(Date.now() + ttlSeconds * 1000).toISOString() : null;
    this.state.tokens[hashToken(token)] = { subject: ROBOT_PREFIX + name, expiration };
    this.save();
    return token;
  }

  /** ModifyRoleBinding: sets `principal`'s roles on the resource (an empty list removes them). */
  modifyRoleBinding(caller: Caller | undefined, resource: Resource, principal: string, roles: string[], repoExists: boolean): void {
    if (!caller) throw new PachError(GrpcCode.Unimplemented, ERR_NOT_ACTIVATED);
    checkCanonicalSubject(principal);
    if (principal.startsWith('pach:') && resource.type === 'CLUSTER') throw new PachError(GrpcCode.Unknown, 'cannot modify cluster role bindings for pach: users');
    if (resource.type === 'PROJECT') throw new PachError(GrpcCode.Unimplemented, 'project role bindings are not emulated');
    this.authorize(caller, resource, [resource.type === 'CLUSTER' ? 'CLUSTER_MODIFY_BINDINGS' : 'REPO_MODIFY_BINDINGS'], repoExists);
    for (const r of roles) {
      if (!ROLES[r]) throw new PachError(GrpcCode.Unknown, `unknown role "${r}"`);
    }
    if (resource.type === 'REPO' && !repoExists) throw noRoleBinding(resource);
    const key = resourceKey(resource);
    const binding = (this.state.bindings[key] ??= {});
    if (roles.length === 0) delete binding[principal];
    else binding[principal] = [...new Set(roles)].sort();
    this.save();
  }

  /** GetRoleBinding: principal -> roles (pachd's map<string, Roles{map<string,bool>}>). */
  getRoleBinding(caller: Caller | undefined, resource: Resource): Record<string, string[]> {
    if (!caller) throw new PachError(GrpcCode.Unimplemented, ERR_NOT_ACTIVATED);
    return { ...(this.state.bindings[resourceKey(resource)] ?? {}) };
  }

  /** A repo created by `caller` is owned by it (pachd's CreateRoleBindingInTransaction on CreateRepo). */
  repoCreated(caller: Caller | undefined, project: string, repo: string): void {
    if (!caller) return;
    this.state.bindings[resourceKey({ type: 'REPO', name: `${project}/${repo}` })] = { [caller.subject]: ['repoOwner'] };
    this.save();
  }

  /** A deleted repo's bindings go with it (DeleteRoleBindingInTransaction). */
  repoDeleted(project: string, repo: string): void {
    if (!delete this.state.bindings[resourceKey({ type: 'REPO', name: `${project}/${repo}` })]) return;
    this.save();
  }

  private save(): void {
    this.file?.save(this.state);
  }
}

function checkCanonicalSubject(subject: string): void {
  if (subject === 'allClusterUsers') return;
  const i = subject.indexOf(':');
  if (i < 0) throw new PachError(GrpcCode.Unknown, 'subject has no prefix, must be of the form <type>:<name>');
  if (!['pipeline:', 'internal:', 'robot:', 'pach:', 'user:', 'group:'].includes(subject.slice(0, i + 1))) {
    throw new PachError(GrpcCode.Unknown, `subject has unrecognized prefix: ${subject.slice(0, i + 1)}`);
  }
}

/** ResourceType from protojson (name or number). */
export function resourceFrom(v: unknown, field: string): Resource {
  const r = v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  if (!r) throw invalidArgument(`invalid ${field}: value is required`);
  const types: Record<string, ResourceType> = { CLUSTER: 'CLUSTER', REPO: 'REPO', PROJECT: 'PROJECT', '1': 'CLUSTER', '2': 'REPO', '4': 'PROJECT' };
  const type = types[String(r.type)];
  if (!type) throw new PachError(GrpcCode.Unknown, `unknown resource type ${String(r.type ?? 'RESOURCE_TYPE_UNKNOWN')}`);
  const name = typeof r.name === 'string' ? r.name : '';
  return { type, name };
}
