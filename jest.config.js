/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The soak and cluster tiers run on their own: `npm run test:soak`, `npm run test:cluster`
  // (jest.soak.config.js, jest.cluster.config.js).
  testPathIgnorePatterns: ['/node_modules/', '/test/soak/', '/test/cluster/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // The examples import the package by name, as a service would.
  moduleNameMapper: {
    '^longrun$': '<rootDir>/src/index.ts',
    '^longrun/client$': '<rootDir>/src/client/index.ts',
    '^longrun/worker$': '<rootDir>/src/worker/index.ts',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Tests that start Temporal dev servers and worker processes share 2 cores: keep files in one process.
  maxWorkers: 1,
  testTimeout: 120_000,
  verbose: true,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
};
