// jest globalTeardown (jest.config.js).
import { removeTestWorkflowBundle } from './helpers/workflow-bundle';
import { removeProductBuild } from './helpers/product-build';

export default function globalTeardown(): void {
  removeTestWorkflowBundle();
  removeProductBuild();
}
