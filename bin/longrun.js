#!/usr/bin/env node
'use strict';
require('../dist/cli/index.js')
  .main()
  .then(
    // A finished command must not linger on open handles (gRPC channels close asynchronously, the
    // SDK's log forwarding keeps a timer): `dev` and `worker` resolve only once they have shut down.
    () => process.exit(process.exitCode ?? 0),
    (err) => {
      console.error(err);
      process.exit(1);
    }
  );
