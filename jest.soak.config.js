/** The soak tier (`npm run test:soak`): the long scenarios, at scale. Same setup as `npm test`. */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['**/test/soak/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 900_000,
  // The 5,000-step task waits on the server's dispatch latency, not the CPU (about 500 s alone): the
  // other files run beside it, not after it.
  maxWorkers: 2,
};
