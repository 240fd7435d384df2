// The end-to-end two-batch pipeline against Pachyderm's own pachd, with the Determined and Seldon
// emulators (see e2e/two-batch-pipeline.ts): the worker, the watcher and the experiment use a robot token.
import { twoBatchPipelineSuite } from '../e2e/two-batch-pipeline';
import { describeRealPachd } from './helpers';

describeRealPachd('the two-batch pipeline against real pachd', () => twoBatchPipelineSuite('real'));
