// jest globalTeardown (jest.config.js).
import { removeTestWorkflowBundle } from './helpers/workflow-bundle';

export default removeTestWorkflowBundle;
