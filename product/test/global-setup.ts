// jest globalSetup (jest.config.js): what every test file of the run shares, built at once: the workflow
// bundle (webpack, in this process) and the compiled product (tsc, a child process).
import { buildTestWorkflowBundle } from './helpers/workflow-bundle';
import { buildProductForTests } from './helpers/product-build';

export default async function globalSetup(): Promise<void> {
  await Promise.all([buildTestWorkflowBundle(), buildProductForTests()]);
}
