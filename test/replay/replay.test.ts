import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { z } from 'zod';
import { workflowBundle } from '../support/temporal';

const HISTORIES = join(__dirname, '..', 'fixtures', 'histories');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(HISTORIES, name), 'utf8'));

type Fixture = {
  events: Array<{
    eventType: string;
    markerRecordedEventAttributes?: {
      markerName?: string;
      details?: Record<string, { payloads?: Array<{ data?: string }> }>;
    };
  }>;
};
const eventTypes = (history: Fixture) => history.events.map((e) => e.eventType);

/** The patch ids a history's patch markers name. */
function patchesOf(history: Fixture): string[] {
  return history.events.flatMap((e) => {
    const attrs = e.markerRecordedEventAttributes;
    if (attrs?.markerName !== 'core_patch') return [];
    const data = attrs.details?.patch_data?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id] : [];
  });
}

// Fixtures v1 to v3 were recorded with engine v1: they have no `longrun-engine-v2` marker and replay
// on the frozen engine in src/workflows/legacy/. v4 fixtures are engine v2's.
describe('workflow replay (engine v1 histories)', () => {
  it.each(['long-task-codebase-review-v1.json', 'long-task-deadline-partial-v3.json'])(
    '%s has no engine v2 marker (so it replays on engine v1)',
    (file) => expect(patchesOf(fixture(file) as Fixture)).not.toContain('longrun-engine-v2')
  );

  it('replays the recorded codebase review history (v1) with the current workflow code', async () => {
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: await workflowBundle() },
        fixture('long-task-codebase-review-v1.json'),
        'codebase-review-v1'
      )
    ).resolves.toBeUndefined();
  });

  it('replays a recorded run that continued as new (v1)', async () => {
    const history = fixture('long-task-continued-as-new-v1.json') as { events: Array<{ eventType: string }> };
    expect(history.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'continued-as-new-v1')
    ).resolves.toBeUndefined();
  });

  it.each([
    ['long-task-pause-resume-v2.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-cancelled-v2.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED'],
  ])('replays a task steered by updates: %s', async (file, lastEvent) => {
    const history = fixture(file) as { events: Array<{ eventType: string }> };
    expect(history.events.at(-1)?.eventType).toBe(lastEvent);
    expect(history.events.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED')).toBe(
      true
    );
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file)
    ).resolves.toBeUndefined();
  });

  it.each([
    ['long-task-deadline-partial-v3.json', 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED'],
    ['long-task-idle-pause-v3.json', 'EVENT_TYPE_TIMER_STARTED'],
  ])('replays a task with time limits, idle detection and webhooks (v3): %s', async (file, event) => {
    const history = fixture(file) as { events: Array<{ eventType: string }> };
    expect(history.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(history.events.some((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED')).toBe(true);
    expect(history.events.some((e) => e.eventType === event)).toBe(true);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file)
    ).resolves.toBeUndefined();
  });

  it('fails with DeterminismViolationError against a deliberately changed workflow', async () => {
    const tampered = await bundleWorkflowCode({ workflowsPath: require.resolve('./tampered-workflows') });
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: tampered },
        fixture('long-task-codebase-review-v1.json'),
        'codebase-review-v1-tampered'
      )
    ).rejects.toThrow(DeterminismViolationError);
  });
});

describe('workflow replay (engine v2 histories)', () => {
  it.each([
    ['long-task-codebase-review-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-continued-as-new-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW'],
    ['long-task-pause-resume-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-cancelled-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-deadline-partial-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-idle-pause-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-limit-pause-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-fan-out-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-handover-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW'],
    // Malformed signals of every kind, ignored (noted in the log), then steering and completion.
    ['long-task-hostile-signals-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-agent-sigkill-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-quota-wait-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-budget-pause-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-approvals-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-workspace-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ['long-task-resource-wait-v4.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
  ])('replays %s with the current workflow code', async (file, lastEvent) => {
    const history = fixture(file) as Fixture;
    expect(history.events.at(-1)?.eventType).toBe(lastEvent);
    expect(history.events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(
      true
    );
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file)
    ).resolves.toBeUndefined();
  });

  it('replays a run that handed a running step over: cancelled for the handover, then continued as new', () => {
    const types = eventTypes(fixture('long-task-handover-v4.json') as Fixture);
    const cancelled = types.lastIndexOf('EVENT_TYPE_ACTIVITY_TASK_CANCELED');
    expect(cancelled).toBeGreaterThan(0);
    expect(types.slice(cancelled).includes('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toBe(false);
  });

  it('fails with DeterminismViolationError when a v4 history meets a changed workflow', async () => {
    const tampered = await bundleWorkflowCode({ workflowsPath: require.resolve('./tampered-workflows') });
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: tampered },
        fixture('long-task-fan-out-v4.json'),
        'fan-out-tampered'
      )
    ).rejects.toThrow(DeterminismViolationError);
  });
});

describe('workflow replay (action catalog)', () => {
  it.each([
    // A worker's signal, then continue-as-new with the merged catalogs as the new run's input.
    ['action-catalog-published-v1.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW'],
    // The run that holds them: its memo summary upserted, waiting for the next worker.
    ['action-catalog-current-v1.json', 'EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED'],
  ])('replays %s', async (file, lastEvent) => {
    const history = fixture(file) as Fixture;
    expect(eventTypes(history).at(-1)).toBe(lastEvent);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file)
    ).resolves.toBeUndefined();
  });
});

describe('workflow replay (progress board)', () => {
  it('replays a board run on the main queue that took 2,000 reports (one malformed), then continued as new onto its own', async () => {
    const history = fixture('progress-board-continued-as-new-v1.json') as Fixture;
    expect(eventTypes(history).at(-1)).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    expect(
      eventTypes(history).filter((t) => t === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED').length
    ).toBeGreaterThan(500);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'progress-board-v1')
    ).resolves.toBeUndefined();
  });
});

describe('workflow bundle', () => {
  const sharedDir = join(__dirname, '..', '..', 'src', 'shared');
  const sharedFiles = readdirSync(sharedDir).filter((f) => f.endsWith('.ts'));

  it("preloads zod's library and every module of shared/ once per context, and no workflow", async () => {
    const { code } = await workflowBundle();
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
    const loaded = [...preload.matchAll(/__webpack_require__\([^)]*"([^"]+)"\)/g)].map((m) => m[1]);
    expect(loaded).toEqual([
      './src/workflows/zod-library.ts',
      ...sharedFiles.sort().map((f) => `./src/shared/${f}`),
    ]);
  });

  it('shared/ exports no zod schema itself (the SDK freezes it), only getters of them', () => {
    const schemas = sharedFiles.flatMap((f) =>
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- every module, by file name
      Object.entries(require(join(sharedDir, f)) as Record<string, unknown>)
        .filter(([, value]) => value instanceof z.ZodType)
        .map(([name]) => `${f}: ${name}`)
    );
    expect(schemas).toEqual([]);
  });
});

describe('protobufjs', () => {
  it('is installed once, so JSON histories decode (a duplicate breaks historyFromJSON)', () => {
    const top = require.resolve('protobufjs/package.json');
    const fromProto = require.resolve('protobufjs/package.json', {
      paths: [join(require.resolve('@temporalio/proto/package.json'), '..')],
    });
    const fromCommon = require.resolve('protobufjs/package.json', {
      paths: [join(require.resolve('@temporalio/common/package.json'), '..')],
    });
    expect(fromProto).toBe(top);
    expect(fromCommon).toBe(top);
    const history = historyFromJSON(fixture('long-task-codebase-review-v1.json'));
    expect(history.events?.length).toBeGreaterThan(10);
  });
});
