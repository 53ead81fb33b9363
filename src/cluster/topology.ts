/**
 * The cluster's topology, the one place both `longrun cluster` (native processes) and
 * docker-compose.yml take it from (test/unit/docker-compose.test.ts checks the compose file against
 * it): PostgreSQL with Temporal's two databases, the Temporal server of the version the CLI embeds,
 * one namespace with a retention period and longrun's search attributes, and the Web UI.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../dev/temporal-cli';
import { parseDuration } from '../shared/duration';
import { LONGRUN_SEARCH_ATTRIBUTES } from '../shared/search-attributes';

/** Pinned Temporal versions (scripts/temporal-versions.json, shared with the provisioning script). */
export const TEMPORAL_VERSIONS = JSON.parse(
  readFileSync(join(PACKAGE_ROOT, 'scripts', 'temporal-versions.json'), 'utf8')
) as { cli: string; server: string; ui: string };

export const CLUSTER = {
  postgres: {
    /** The major version Debian 12 ships, and the compose file's image. */
    major: 15,
    user: 'temporal',
    password: 'temporal',
  },
  /** Temporal's SQL plugin for PostgreSQL 12 and newer, and its embedded schema for each database. */
  sqlPlugin: 'postgres12',
  databases: [
    { name: 'temporal', schema: 'postgresql/v12/temporal' },
    { name: 'temporal_visibility', schema: 'postgresql/v12/visibility' },
  ],
  /** Fixed when the cluster is first started (history shards cannot change afterwards). */
  numHistoryShards: 4,
  namespace: 'default',
  /** How long Temporal keeps a closed task's history. */
  retention: '72h',
  searchAttributes: LONGRUN_SEARCH_ATTRIBUTES.map((key) => ({ name: key.name, type: key.type })),
  /** Temporal's own defaults: the frontend, and the Web UI of the compose file. */
  frontendPort: 7233,
  uiPort: 8080,
} as const;

/** Retention as milliseconds, for the namespace registration. */
export const retentionMs = (): number => parseDuration(CLUSTER.retention);
