import { DefaultLogger, Runtime } from '@temporalio/worker';

// Worker lifecycle INFO lines drown the test output; keep warnings and errors.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process by an earlier test file
}

// Worker processes a test spawns watch no resources unless the test asks (LONGRUN_MONITOR_INTERVAL_MS):
// the suite's own load on 2 cores must not change the timing of tests about something else.
process.env.LONGRUN_MONITOR_INTERVAL_MS ??= '0';
