/** @type {import('jest').Config} */
// One run over every package's tests (each package keeps its tests in its own test/ folder).
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/product/test', '<rootDir>/emulators/test', '<rootDir>/stack/test'],
  testMatch: ['**/*.test.ts'],
  // Built once per run: the workflow bundle every test worker loads, and the compiled product the tests' `ct`
  // and worker processes run (product/test/helpers/workflow-bundle.ts, product-build.ts).
  globalSetup: '<rootDir>/product/test/global-setup.ts',
  globalTeardown: '<rootDir>/product/test/global-teardown.ts',
  // The longest files first, also on a fresh clone (scripts/jest-sequencer.js).
  testSequencer: '<rootDir>/scripts/jest-sequencer.js',
  // Server-backed tests start real Temporal servers and emulators: give them room on 2 cores.
  testTimeout: 120_000,
  // A test that times out can leave a worker polling; never let that hang the run (CI has a time limit).
  forceExit: true,
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
};
