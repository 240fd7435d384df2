// The SeldonDeployment (CRD v1) and Seldon Deploy shapes the emulator reads or writes: the wire types shared
// with the product. Objects carry more fields than typed; they are stored and returned as received (after pruning).
export type * from '@continuous-training/api-types/seldon';
