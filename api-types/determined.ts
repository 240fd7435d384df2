// The Determined master's REST API (grpc-gateway protojson).

/** utilv1.File: one file of an experiment's model definition (`content` base64; `mtime` int64, a string on the wire). */
export interface ModelDefinitionFile {
  path: string;
  type: number;
  content: string;
  mtime: string | number;
  mode: number;
  uid: number;
  gid: number;
}
