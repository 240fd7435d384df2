// The end-to-end two-batch pipeline (see e2e/two-batch-pipeline.ts) on the Temporal cluster stack: the real
// server v1.32.2 on PostgreSQL, 4 history shards, one process per service, SQL visibility.
import { twoBatchPipelineSuite } from '../e2e/two-batch-pipeline';
import { describeOnCluster } from '../helpers/temporal-target';

describeOnCluster('on the Temporal cluster (PostgreSQL)', () => {
  twoBatchPipelineSuite('emulator', 'cluster');
});
