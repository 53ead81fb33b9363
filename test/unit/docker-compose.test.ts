import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CLUSTER, TEMPORAL_VERSIONS } from '../../src/cluster/topology';
import { cliTypeName } from '../../src/shared/search-attributes';

interface Service {
  image?: string;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  command?: string | string[];
  ports?: string[];
}

const ROOT = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

describe('docker-compose.yml', () => {
  it('is valid for `docker compose config` where the compose plugin exists', () => {
    const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (probe.status !== 0) return; // no compose plugin on this machine: the structural checks below apply
    const result = spawnSync(
      'docker',
      ['compose', '-f', join(ROOT, 'docker-compose.yml'), 'config', '--quiet'],
      {
        encoding: 'utf8',
      }
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('runs Temporal on PostgreSQL with a schema job, the Web UI and a longrun worker', () => {
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(
      [
        'longrun-worker',
        'postgresql',
        'temporal',
        'temporal-admin-tools',
        'temporal-create-namespace',
        'temporal-ui',
      ].sort()
    );
    expect(s.postgresql?.image).toMatch(/^postgres:/);
    expect(s.temporal?.image).toBe('temporalio/server:1.29.1');
    expect(s.temporal?.environment?.DB).toBe('postgres12');
    expect(s.temporal?.depends_on?.['temporal-admin-tools']?.condition).toBe(
      'service_completed_successfully'
    );
    expect(s['temporal-admin-tools']?.depends_on?.postgresql?.condition).toBe('service_healthy');
    expect(s['temporal-ui']?.ports).toContain('8080:8080');
    expect(s['longrun-worker']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(s['longrun-worker']?.environment?.LONGRUN_TASK_QUEUE).toBe('longrun');
  });

  it('registers every search attribute longrun writes', () => {
    const command = String(compose.services['temporal-create-namespace']?.command);
    for (const key of CLUSTER.searchAttributes) {
      expect(command).toContain(`--name ${key.name} --type ${cliTypeName(key.type)}`);
    }
  });

  // `longrun cluster up` runs the same topology natively: both follow src/cluster/topology.ts.
  describe('matches the native cluster (src/cluster/topology.ts, scripts/temporal-versions.json)', () => {
    const s = compose.services;
    const bare = (v: string) => v.replace(/^v/, '');

    it('runs the server, admin tools and UI of the versions the native cluster builds', () => {
      expect(s.temporal?.image).toBe(`temporalio/server:${bare(TEMPORAL_VERSIONS.server)}`);
      for (const job of ['temporal-admin-tools', 'temporal-create-namespace']) {
        expect(s[job]?.image).toMatch(
          new RegExp(`^temporalio/admin-tools:${bare(TEMPORAL_VERSIONS.server)}-`)
        );
      }
      expect(s['temporal-ui']?.image).toBe(`temporalio/ui:${bare(TEMPORAL_VERSIONS.ui)}`);
    });

    it('runs the same PostgreSQL major version with the same user, plugin and schemas', () => {
      expect(s.postgresql?.image).toBe(`postgres:${CLUSTER.postgres.major}`);
      expect(s.postgresql?.environment).toMatchObject({
        POSTGRES_USER: CLUSTER.postgres.user,
        POSTGRES_PASSWORD: CLUSTER.postgres.password,
      });
      expect(s['temporal-admin-tools']?.environment).toMatchObject({
        SQL_PLUGIN: CLUSTER.sqlPlugin,
        SQL_USER: CLUSTER.postgres.user,
        SQL_PASSWORD: CLUSTER.postgres.password,
      });
      expect(s.temporal?.environment).toMatchObject({
        DB: CLUSTER.sqlPlugin,
        POSTGRES_USER: CLUSTER.postgres.user,
        POSTGRES_PWD: CLUSTER.postgres.password,
      });
      const schemaJob = String(s['temporal-admin-tools']?.command);
      for (const db of CLUSTER.databases) {
        expect(schemaJob).toContain(`--database ${db.name} create-database`);
        expect(schemaJob).toContain(
          `--database ${db.name} update-schema -d /etc/temporal/schema/${db.schema}/versioned`
        );
      }
    });

    it('creates the same namespace with the same retention, and serves the same ports', () => {
      expect(String(s['temporal-create-namespace']?.command)).toContain(
        `temporal operator namespace create -n ${CLUSTER.namespace} --retention ${CLUSTER.retention}`
      );
      expect(s.temporal?.ports).toContain(`${CLUSTER.frontendPort}:7233`);
      expect(s['temporal-ui']?.ports).toContain(`${CLUSTER.uiPort}:8080`);
      expect(s['longrun-worker']?.environment?.TEMPORAL_NAMESPACE).toBe(CLUSTER.namespace);
    });
  });

  it('declares every named volume it mounts', () => {
    for (const service of Object.values(compose.services) as Array<Service & { volumes?: string[] }>) {
      for (const mount of service.volumes ?? []) {
        const source = mount.split(':')[0] as string;
        if (!source.startsWith('.') && !source.startsWith('/'))
          expect(compose.volumes).toHaveProperty(source);
      }
    }
  });
});
