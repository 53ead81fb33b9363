/**
 * The cluster tier (`npm run test:cluster`): a native Temporal cluster on PostgreSQL (started once for
 * the run, test/support/cluster-setup.ts), the chaos test on it with three workers, and suites of
 * `npm test` that depend on visibility run again on SQL visibility instead of the dev server's SQLite.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: [
    '**/test/cluster/**/*.test.ts',
    // Search-attribute lists, dead letters, retry and rollback, on SQL visibility.
    '**/test/workflows/dead-letters.test.ts',
    '**/test/workflows/steering.test.ts',
    '**/test/cli/commands.test.ts',
    '**/test/workflows/workspace.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/support/cluster-setup.ts',
  globalTeardown: '<rootDir>/test/support/cluster-teardown.ts',
  testTimeout: 600_000,
};
