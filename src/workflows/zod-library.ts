/**
 * zod's library, preloaded once per workflow context (with shared/) so that all cached workflows
 * share it instead of each loading its own copy (src/worker/workflow-bundle.ts says why and what it
 * saves).
 */
import { z } from 'zod';

// zod sets its default locale and memoizer in its global config when the first schema is built and
// parses; here, before the SDK freezes that config with the rest of the library. This is also the use
// that keeps the import: zod's package is marked free of side effects, so webpack drops unused ones.
if (z.object({ id: z.string().min(1) }).safeParse({ id: 1 }).success) throw new Error('zod did not load');
