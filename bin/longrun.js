#!/usr/bin/env node
'use strict';
require('../dist/cli/index.js')
  .main()
  .then(
    () => {
      // A finished command must not linger on open handles (gRPC channels close asynchronously).
      if (!process.argv.slice(2).some((a) => a === 'dev' || a === 'worker'))
        process.exit(process.exitCode ?? 0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    }
  );
