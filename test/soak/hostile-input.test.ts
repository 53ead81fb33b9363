/** Hostile input at soak scale: the `npm test` fuzz suite with five times the cases. */
import { fuzzSuite } from '../support/fuzz-suite';

fuzzSuite({ specs: 1500, payloads: 1000, cliRuns: 100, environments: 4000 });
