import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { emptyAggregates, foldLine, type Aggregates } from '../../src/activities/agents/dataset';
import { LongrunClient } from '../../src/client';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { builtinActions } from '../../src/worker/factory';
import { datasetSpec } from '../../src/shared/plans';
import { isStepHeartbeat, type ArtifactRef } from '../../src/shared/step-io';
import { inProcessWorker, useServerAndWorkers } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const ROOT = join(__dirname, '..', '..');
const RECORDS = 2_000_000;

let dataset: string;
const t = useServerAndWorkers('dataset', (d) => {
  dataset = join(d, 'records.jsonl');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'generate-dataset.mjs'), dataset, String(RECORDS)]);
});

async function recordedOffset(longrun: LongrunClient, taskId: string): Promise<number> {
  const description = await longrun.client.workflow.getHandle(taskId).describe();
  const payloads = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads;
  if (!payloads?.length) return 0;
  const [details] = await decodeArrayFromPayloads(longrun.client.options.loadedDataConverter, payloads);
  return isStepHeartbeat(details) ? ((details.cursor as { offset?: number } | null)?.offset ?? 0) : 0;
}

describe('dataset processor', () => {
  let clean: Aggregates;

  it('aggregates a 2,000,000-record JSONL file exactly, with bounded memory', async () => {
    const { worker, artifacts } = await inProcessWorker({
      connection: t.env.nativeConnection,
      taskQueue: 'dataset-clean',
      actions: builtinActions,
      dir: join(t.dir, 'clean'),
    });
    const longrun = new LongrunClient(t.env.client, 'dataset-clean');
    const rssBefore = process.memoryUsage().rss;
    const result = await worker.runUntil(async () => {
      await longrun.start(datasetSpec({ taskId: 'dataset-clean', path: dataset }));
      return longrun.result('dataset-clean');
    });
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    const output = result.outputs.process as { aggregates: ArtifactRef; records: number; invalid: number };
    clean = await artifacts.getJson<Aggregates>(output.aggregates);

    // An independent fold over the whole file gives the same numbers.
    const expected = emptyAggregates();
    for (const line of readFileSync(dataset, 'utf8').split('\n'))
      foldLine(expected, line, 'category', 'amount');
    expect(clean).toEqual(expected);
    expect(clean.records + clean.invalid).toBe(RECORDS);
    expect(clean.invalid).toBe(Math.floor(RECORDS / 10_007));
    expect(Object.keys(clean.groups)).toHaveLength(8);
    // Streaming keeps memory flat: far below the file's size.
    expect(rssGrowthMb).toBeLessThan(statSync(dataset).size / 1024 / 1024 / 2);
  });

  it('gives exactly the same aggregates when its worker is SIGKILLed twice', async () => {
    const size = statSync(dataset).size;
    const taskQueue = 'dataset-killed';
    const workerEnv = {
      TEMPORAL_ADDRESS: t.env.address,
      LONGRUN_TASK_QUEUE: taskQueue,
      LONGRUN_DATA_DIR: join(t.dir, 'data'),
    };
    const longrun = new LongrunClient(t.env.client, taskQueue);
    const offsetsAtKill: number[] = [];

    t.spawn(workerEnv);
    await longrun.start(
      datasetSpec({ taskId: 'dataset-killed', path: dataset, durability: 'high', heartbeatTimeoutMs: 1_000 })
    );
    // Kill the first worker once 15% is recorded, the second as soon as it has recorded progress of its own.
    for (const floor of [0.15 * size, undefined]) {
      const target = floor ?? (offsetsAtKill.at(-1) ?? 0) + 1;
      await waitFor(
        `a recorded offset of at least ${Math.round(target)}`,
        async () => {
          const offset = await recordedOffset(longrun, 'dataset-killed');
          if (offset === 0 && (await longrun.status('dataset-killed')).execution !== 'RUNNING') {
            throw new Error('the step finished before the worker could be killed');
          }
          return offset >= target ? true : undefined;
        },
        120_000,
        20
      );
      const victim = t.workers.at(-1)!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      offsetsAtKill.push(await recordedOffset(longrun, 'dataset-killed'));
      expect(offsetsAtKill.at(-1)).toBeLessThan(size); // killed before the end
      t.spawn(workerEnv);
    }
    const result = await longrun.result('dataset-killed');
    const output = result.outputs.process as { aggregates: ArtifactRef; resumedFromOffset: number };
    const killed = await new ArtifactStore(join(t.dir, 'data', 'artifacts')).getJson<Aggregates>(
      output.aggregates
    );

    expect(killed).toEqual(clean);
    expect(output.resumedFromOffset).toBe(offsetsAtKill[1]);
    console.log(
      `dataset: ${RECORDS} records, killed at byte offsets ${offsetsAtKill.join(' and ')} of ${size}; aggregates identical`
    );
  });
});
