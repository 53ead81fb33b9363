import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LongrunState } from '../../src/shared/search-attributes';
import { startDevServerEnv } from '../support/temporal';

const ROOT = join(__dirname, '..', '..');
let env: TestWorkflowEnvironment;
let dir: string;

beforeAll(async () => {
  env = await startDevServerEnv();
  dir = mkdtempSync(join(tmpdir(), 'longrun-cluster-'));
});

afterAll(async () => {
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

describe('longrun dev with TEMPORAL_ADDRESS set', () => {
  it('uses that cluster and starts no local server', async () => {
    const result = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin', 'longrun.js'),
        'dev',
        '--root',
        'test/fixtures/sample-repo',
        '--task-id',
        'on-cluster',
        '--exit-on-complete',
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, TEMPORAL_ADDRESS: env.address, LONGRUN_DATA_DIR: join(dir, 'data') },
      }
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Temporal: ${env.address}, namespace "default"`);
    expect(result.stdout).not.toContain('Starting the Temporal dev server');
    expect(result.stdout).toContain('Task on-cluster completed: 4 files, 44 lines analyzed.');
    expect(existsSync(join(dir, 'data', 'temporal.db'))).toBe(false);
    const description = await env.client.workflow.getHandle('on-cluster').describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(LongrunState)).toBe('completed');
  });
});
