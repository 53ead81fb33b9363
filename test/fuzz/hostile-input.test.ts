/** Hostile input, a few hundred seeded cases (reproduce one with FUZZ_SEED; more in the soak tier). */
import { fuzzSuite } from '../support/fuzz-suite';

fuzzSuite({ specs: 300, payloads: 200, cliRuns: 40, environments: 400 });
