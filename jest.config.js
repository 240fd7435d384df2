/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Server-backed tests start real Temporal servers and emulators: give them room on 2 cores.
  testTimeout: 120_000,
  // A test that times out can leave a worker polling; never let that hang the run (CI has a time limit).
  forceExit: true,
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
};
