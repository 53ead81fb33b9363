/**
 * A value built on its first use and kept: how shared/ holds its zod schemas.
 *
 * The worker loads shared/ once per workflow context and shares it, frozen, between all cached
 * workflows (src/worker/workflow-bundle.ts). A zod 4 schema defines members on itself when first
 * used, which a frozen one cannot, so a module exports a getter and the schema stays in its closure,
 * unfrozen, built once by whichever workflow first needs it and then shared. Building on first use
 * also keeps loading a module cheap.
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
