import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../support/temporal';

const HISTORIES = join(__dirname, '..', 'fixtures', 'histories');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(HISTORIES, name), 'utf8'));

describe('workflow replay', () => {
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
