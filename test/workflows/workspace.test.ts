/**
 * Rollback restores the agent's files: a task names a workspace; its steps edit, create and delete
 * files across three checkpoints; a rollback (a Temporal reset to the checkpoint) restores exactly that
 * checkpoint's tree, whatever the folder held, before the steps after it run again. Snapshots store
 * each file version once and the checkpoint records say how big they are.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { CriticalError, defineAction } from '../../src/activities';
import type { TaskSpecInput } from '../../src/shared/spec';
import { recordHistory, useWorkerEnv } from '../support/temporal';

/** Every file under `root` with its content, sorted: the tree a test compares. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) visit(full);
      else out[relative(root, full)] = readFileSync(full, 'utf8');
    }
  };
  if (existsSync(root)) visit(root);
  return out;
}

const edits: Record<string, (ws: string) => void> = {
  one: (ws) => {
    writeFileSync(join(ws, 'a.txt'), 'a1');
    writeFileSync(join(ws, 'b.txt'), 'b1');
  },
  two: (ws) => {
    writeFileSync(join(ws, 'a.txt'), 'a2');
    writeFileSync(join(ws, 'c.txt'), 'c2');
    rmSync(join(ws, 'b.txt'));
  },
  three: (ws) => {
    mkdirSync(join(ws, 'd'), { recursive: true });
    writeFileSync(join(ws, 'd', 'e.txt'), 'e3');
    rmSync(join(ws, 'a.txt'));
  },
};

/** Logs the tree it finds, then makes its edits. */
const editor = defineAction({
  name: 'test.editor',
  description: 'edits the workspace',
  input: z.object({
    /** `count` writes how many times it has run into count.txt: work that differs from run to run. */
    edit: z.enum(['one', 'two', 'three', 'count']),
    workspace: z.string(),
    ledger: z.string(),
    /** Leave junk and fail as corrupted this many times (the task then rolls back and retries). */
    corruptions: z.number().default(0),
  }),
  run(_ctx, input) {
    mkdirSync(input.workspace, { recursive: true });
    appendFileSync(input.ledger, `${JSON.stringify({ step: input.edit, found: tree(input.workspace) })}\n`);
    const runs = readFileSync(input.ledger, 'utf8')
      .split('\n')
      .filter((l) => l.includes(`"step":"${input.edit}"`));
    if (runs.length <= input.corruptions) {
      writeFileSync(join(input.workspace, `junk-${runs.length}.txt`), 'half-written');
      return Promise.reject(new CriticalError('inconsistent state'));
    }
    if (input.edit === 'count') writeFileSync(join(input.workspace, 'count.txt'), String(runs.length));
    edits[input.edit]?.(input.workspace);
    return Promise.resolve({});
  },
});

const t = useWorkerEnv({ taskQueue: 'workspace-test', actions: [editor] });

describe('a task with a workspace', () => {
  it("restores exactly each checkpoint's tree on rollback", async () => {
    const workspace = join(t.dir, 'ws');
    const ledger = join(t.dir, 'ledger.jsonl');
    const found = () =>
      readFileSync(ledger, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { step: string; found: Record<string, string> });
    const step = (edit: string) => ({
      id: edit,
      action: 'test.editor',
      input: { edit, workspace, ledger },
      milestone: true,
    });
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'workspace-rollback',
      agent: 'workspace-test',
      workspace,
      phases: [{ id: 'edit', steps: [step('one'), step('two'), step('three')] }],
    };
    await t.longrun.start(spec);
    await t.longrun.result(spec.taskId);
    recordHistory(t.env, spec.taskId, 'long-task-workspace-v4.json');
    const after1 = { 'a.txt': 'a1', 'b.txt': 'b1' };
    const after2 = { 'a.txt': 'a2', 'c.txt': 'c2' };
    const after3 = { 'c.txt': 'c2', 'd/e.txt': 'e3' };
    expect(found().map((f) => f.found)).toEqual([{}, after1, after2]);
    expect(tree(workspace)).toEqual(after3);

    const records = await t.longrun.checkpoints(spec.taskId);
    const milestones = records.filter((r) => r.type === 'milestone');
    expect(milestones.map((r) => r.stepId)).toEqual(['two', 'three', null]);
    // Each snapshot says how big it is; a file version seen before adds nothing to the store.
    expect(milestones.map((r) => r.workspace)).toEqual([
      { files: 2, bytes: 4, newBytes: 4 },
      { files: 2, bytes: 4, newBytes: 4 },
      { files: 2, bytes: 4, newBytes: expect.any(Number) },
    ]);
    // The last milestone and the end of the phase hold the same tree: between them (their snapshots
    // run at once) they add only e3 (c.txt was stored at the second checkpoint).
    const last = records.filter((r) => r.at >= (milestones[2]?.at ?? 0));
    expect(last.reduce((sum, r) => sum + ((r.workspace as { newBytes: number }).newBytes ?? 0), 0)).toBe(2);

    // Roll back to after step one with the folder messed up: step two finds exactly step one's tree.
    writeFileSync(join(workspace, 'junk.txt'), 'junk');
    await t.longrun.rollback(spec.taskId, milestones[0]!.id);
    await t.longrun.result(spec.taskId);
    expect(found().at(-2)).toEqual({ step: 'two', found: after1 });
    expect(found().at(-1)).toEqual({ step: 'three', found: after2 });
    expect(tree(workspace)).toEqual(after3);

    // To after step two: step three finds step two's tree (a.txt back, c.txt kept, d/ gone).
    await t.longrun.rollback(spec.taskId, milestones[1]!.id);
    await t.longrun.result(spec.taskId);
    expect(found().at(-1)).toEqual({ step: 'three', found: after2 });

    // To the last one, after the folder was changed by hand: the tree comes back as it was.
    rmSync(join(workspace, 'd'), { recursive: true });
    writeFileSync(join(workspace, 'c.txt'), 'changed');
    writeFileSync(join(workspace, 'new.txt'), 'new');
    await t.longrun.rollback(spec.taskId, milestones[2]!.id);
    await t.longrun.result(spec.taskId);
    expect(tree(workspace)).toEqual(after3);
  });

  it('restores the workspace when a critical failure rolls the task back inside the workflow', async () => {
    const workspace = join(t.dir, 'ws-critical');
    const ledger = join(t.dir, 'ledger-critical.jsonl');
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'workspace-critical',
      agent: 'workspace-test',
      workspace,
      durability: 'basic',
      phases: [
        {
          id: 'edit',
          steps: [
            { id: 'one', action: 'test.editor', input: { edit: 'one', workspace, ledger }, milestone: true },
            { id: 'two', action: 'test.editor', input: { edit: 'two', workspace, ledger, corruptions: 3 } },
          ],
        },
      ],
    };
    await t.longrun.start(spec);
    const result = await t.longrun.result(spec.taskId);
    expect(result.state).toBe('completed');
    const runs = readFileSync(ledger, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: string; found: object });
    const two = runs.filter((r) => r.step === 'two');
    expect(two.length).toBeGreaterThan(3); // corrupted, rolled back, run again
    expect(two.at(-2)?.found).toHaveProperty(['junk-2.txt']); // the attempts saw each other's junk ...
    expect(two.at(-1)?.found).toEqual({ 'a.txt': 'a1', 'b.txt': 'b1' }); // ... the retry after the rollback did not
    expect(tree(workspace)).toEqual({ 'a.txt': 'a2', 'c.txt': 'c2' });
    const logs = (await t.longrun.logs(spec.taskId)).map((e) => e.message).join('\n');
    expect(logs).toMatch(/workspace restored to milestone-\d+ \(\d+ files written, 3 removed\)/);
  });

  it("leaves a new timeline's work alone when its checkpoint reuses the id of an abandoned one", async () => {
    const workspace = join(t.dir, 'ws-timeline');
    const ledger = join(t.dir, 'ledger-timeline.jsonl');
    const step = (edit: string) => ({
      id: edit,
      action: 'test.editor',
      input: { edit, workspace, ledger },
      milestone: true,
    });
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'workspace-timeline',
      agent: 'workspace-test',
      workspace,
      phases: [{ id: 'edit', steps: [step('one'), step('count'), step('three')] }],
    };
    await t.longrun.start(spec);
    await t.longrun.result(spec.taskId);
    const milestones = (await t.longrun.checkpoints(spec.taskId)).filter((r) => r.type === 'milestone');
    // Back to after step one: step count runs again (writes 2), and its milestone gets the id the
    // abandoned timeline's had. Its snapshot is new: step three finds this run's count, not the old one.
    await t.longrun.rollback(spec.taskId, milestones[0]!.id);
    await t.longrun.result(spec.taskId);
    const runs = readFileSync(ledger, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: string; found: Record<string, string> });
    const again = (await t.longrun.checkpoints(spec.taskId)).filter((r) => r.type === 'milestone');
    expect(again.map((r) => r.id)).toContain(milestones[1]!.id); // the id was reused
    expect(runs.filter((r) => r.step === 'three').map((r) => r.found['count.txt'])).toEqual(['1', '2']);
    expect(tree(workspace)['count.txt']).toBe('2');
    // And a reset to that new checkpoint restores this timeline's files, not the abandoned ones.
    writeFileSync(join(workspace, 'count.txt'), 'changed');
    const reused = again.find((r) => r.id === milestones[1]!.id && r.at > milestones[1]!.at) ?? again[1]!;
    await t.longrun.rollback(spec.taskId, reused.id);
    await t.longrun.result(spec.taskId);
    expect(
      readFileSync(ledger, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { step: string; found: Record<string, string> })
        .at(-1)
    ).toMatchObject({ step: 'three', found: { 'count.txt': '2' } });
  });
});
