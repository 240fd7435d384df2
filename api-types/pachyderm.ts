// pachd's pfs_v2 (protojson: enum values by name).

/** pfs_v2.CommitState. */
export type CommitState = 'COMMIT_STATE_UNKNOWN' | 'STARTED' | 'READY' | 'FINISHING' | 'FINISHED';
