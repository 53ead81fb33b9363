import { DefaultLogger, Runtime } from '@temporalio/worker';

// Worker lifecycle INFO lines drown the test output; keep warnings and errors.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process by an earlier test file
}
