/** Hostile input at soak scale: the `npm test` fuzz suite with ten times the cases. */
import { fuzzSuite } from '../support/fuzz-suite';

fuzzSuite({ specs: 3000, payloads: 2000, cliRuns: 200, environments: 4000 });
