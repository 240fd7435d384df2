// The end-to-end two-batch pipeline against the pachd emulator (see two-batch-pipeline.ts).
import { twoBatchPipelineSuite } from './two-batch-pipeline';

twoBatchPipelineSuite('emulator');
