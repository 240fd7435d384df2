// jest globalSetup (jest.config.js): what every test file of the run shares.
import { buildTestWorkflowBundle } from './helpers/workflow-bundle';

export default buildTestWorkflowBundle;
