/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Server-backed tests start real Temporal servers and emulators: give them room on 2 cores.
  testTimeout: 120_000,
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
};
