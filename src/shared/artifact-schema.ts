import { z } from 'zod';
import { lazy } from './lazy';

/** zod schema of an `ArtifactRef`, for action inputs that take artifacts from earlier steps. */
export const artifactRefSchema = lazy(() =>
  z.strictObject({
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
    bytes: z.number().int().nonnegative(),
    name: z.string().min(1),
    mediaType: z.string().min(1),
  })
);
