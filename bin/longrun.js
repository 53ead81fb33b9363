#!/usr/bin/env node
'use strict';
// A reader that goes away (`longrun list | head`) ends the command quietly, as for other CLI tools.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
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
