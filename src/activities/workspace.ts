/**
 * Workspace snapshots: a task that names a `workspace` folder has it snapshotted at every checkpoint
 * and restored exactly on a rollback. Each file version is stored once, content addressed, in the
 * artifact store; a snapshot is a manifest of paths, hashes and modes. The activity is keyed by task
 * and checkpoint: the first call for a checkpoint takes the snapshot; a later one restores it only
 * when a Temporal reset to that very checkpoint re-ran the workflow task that asked (the run's history
 * says so). A checkpoint of a new timeline that reuses an abandoned one's id (after a reset to an
 * earlier checkpoint) takes a fresh snapshot and leaves the folder alone.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { safeSegment, type ArtifactStore } from '../runtime/artifact-store';
import type { ArtifactRef } from '../shared/step-io';

export interface WorkspaceRequest {
  taskId: string;
  /** Tells tasks that reuse an id apart: the task's creation time. */
  taskCreatedAt: number;
  checkpointId: string;
  folder: string;
  /** `snapshot-or-restore` at a checkpoint; `restore` for a rollback inside the workflow. */
  mode: 'snapshot-or-restore' | 'restore';
  /** The checkpoint's run, and its reset point less one (absent from older tasks). */
  runId?: string;
  historyLength?: number;
}

/** What a checkpoint's index file holds: the manifest and where in which run it was taken. */
interface SnapshotIndex {
  manifest: ArtifactRef;
  runId?: string;
  historyLength?: number;
}

const RESET_CAUSE = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW;

/**
 * Whether the current run is a reset to the workflow task that took `index`: the reset run keeps the
 * history up to that task's start and fails the task with cause RESET_WORKFLOW right after it.
 */
async function resetToIndex(index: SnapshotIndex): Promise<boolean> {
  const info = Context.current().info.workflowExecution;
  if (index.historyLength === undefined || !info) return true; // an index of an older version: as before
  const history = await Context.current()
    .client.workflow.getHandle(info.workflowId, info.runId)
    .fetchHistory();
  const next = history.events?.find((e) => Number(e.eventId) === (index.historyLength as number) + 1);
  return next?.workflowTaskFailedEventAttributes?.cause === RESET_CAUSE;
}

export interface WorkspaceResult {
  action: 'snapshot' | 'restore';
  files: number;
  /** Bytes of the files in the snapshot. */
  bytes: number;
  /** Bytes this snapshot added to the store (file versions it had not seen). */
  newBytes: number;
  /** Files written and removed by a restore. */
  restored?: number;
  removed?: number;
}

interface Entry {
  path: string;
  kind: 'file' | 'dir' | 'link';
  sha256?: string;
  bytes?: number;
  mode?: number;
  target?: string;
}

const MANIFEST = 'application/vnd.longrun.workspace+json';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const d of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name)
    )) {
      const full = join(dir, d.name);
      const path = relative(root, full).split(sep).join('/');
      if (d.isSymbolicLink()) out.push({ path, kind: 'link', target: await readlink(full) });
      else if (d.isDirectory()) {
        out.push({ path, kind: 'dir' });
        await visit(full);
      } else if (d.isFile()) out.push({ path, kind: 'file', mode: (await lstat(full)).mode & 0o777 });
    }
  };
  await visit(root);
  return out;
}

export function createWorkspaceActivities(deps: { artifacts: ArtifactStore }) {
  const { artifacts } = deps;
  const indexPath = (r: WorkspaceRequest) =>
    join(
      artifacts.root,
      'workspaces',
      safeSegment(`${r.taskId}@${r.taskCreatedAt}`),
      `${safeSegment(r.checkpointId)}.json`
    );

  async function snapshot(r: WorkspaceRequest): Promise<WorkspaceResult> {
    await mkdir(r.folder, { recursive: true });
    const entries = await walk(r.folder);
    let bytes = 0;
    let newBytes = 0;
    for (const e of entries) {
      if (e.kind !== 'file') continue;
      const data = await readFile(join(r.folder, e.path));
      const known = await lstat(artifacts.pathOf({ sha256: sha256(data) })).then(
        () => true,
        () => false
      );
      const ref = await artifacts.put(data, { name: e.path, mediaType: 'application/octet-stream' });
      e.sha256 = ref.sha256;
      e.bytes = ref.bytes;
      bytes += ref.bytes;
      if (!known) newBytes += ref.bytes;
    }
    const manifest = await artifacts.put(JSON.stringify(entries), {
      name: `workspace ${r.checkpointId}`,
      mediaType: MANIFEST,
    });
    await mkdir(dirname(indexPath(r)), { recursive: true });
    const index: SnapshotIndex = {
      manifest,
      ...(r.runId ? { runId: r.runId } : {}),
      ...(r.historyLength === undefined ? {} : { historyLength: r.historyLength }),
    };
    await writeFile(indexPath(r), JSON.stringify(index));
    return { action: 'snapshot', files: entries.filter((e) => e.kind === 'file').length, bytes, newBytes };
  }

  async function summary(manifest: ArtifactRef): Promise<WorkspaceResult> {
    const files = (await artifacts.getJson<Entry[]>(manifest)).filter((e) => e.kind === 'file');
    return {
      action: 'snapshot',
      files: files.length,
      bytes: files.reduce((n, e) => n + (e.bytes ?? 0), 0),
      newBytes: 0,
    };
  }

  async function restore(r: WorkspaceRequest, manifest: ArtifactRef): Promise<WorkspaceResult> {
    const wanted = await artifacts.getJson<Entry[]>(manifest);
    const byPath = new Map(wanted.map((e) => [e.path, e]));
    await mkdir(r.folder, { recursive: true });
    let removed = 0;
    // Deepest first, so a folder is emptied before it is looked at.
    for (const e of (await walk(r.folder)).reverse()) {
      const want = byPath.get(e.path);
      if (want && want.kind === e.kind && (e.kind !== 'link' || want.target === e.target)) continue;
      await rm(join(r.folder, e.path), { recursive: true, force: true });
      removed++;
    }
    let restored = 0;
    let bytes = 0;
    for (const e of wanted) {
      const full = join(r.folder, e.path);
      if (e.kind === 'dir') await mkdir(full, { recursive: true });
      else if (e.kind === 'link') {
        if (!(await lstat(full).catch(() => null))) await symlink(e.target as string, full);
      } else {
        const ref: ArtifactRef = {
          sha256: e.sha256 as string,
          bytes: e.bytes ?? 0,
          name: e.path,
          mediaType: 'application/octet-stream',
        };
        bytes += ref.bytes;
        const current = await readFile(full).catch(() => null);
        if (!current || sha256(current) !== ref.sha256) {
          await mkdir(dirname(full), { recursive: true });
          await writeFile(full, await artifacts.get(ref));
          restored++;
        }
        if (e.mode !== undefined) await chmod(full, e.mode);
      }
    }
    const files = wanted.filter((e) => e.kind === 'file').length;
    return { action: 'restore', files, bytes, newBytes: 0, restored, removed };
  }

  // One snapshot or restore of a folder at a time in this worker: two checkpoints of one workflow task
  // are scheduled together, and must neither interleave nor both count a new file as theirs.
  const locks = new Map<string, Promise<unknown>>();
  const exclusive = <T>(folder: string, fn: () => Promise<T>): Promise<T> => {
    const run = (locks.get(folder) ?? Promise.resolve()).then(fn, fn);
    locks.set(
      folder,
      run.catch(() => undefined)
    );
    return run;
  };

  return {
    /** Snapshots the task's workspace at a checkpoint, or restores it when that checkpoint has one. */
    workspaceCheckpoint(r: WorkspaceRequest): Promise<WorkspaceResult> {
      return exclusive(r.folder, async () => {
        const text = await readFile(indexPath(r), 'utf8').catch(() => null);
        if (text === null) {
          if (r.mode === 'restore')
            throw new Error(`checkpoint ${r.checkpointId} of task ${r.taskId} has no workspace snapshot`);
          return snapshot(r);
        }
        const parsed = JSON.parse(text) as SnapshotIndex | ArtifactRef;
        const index: SnapshotIndex = 'manifest' in parsed ? parsed : { manifest: parsed }; // older indexes
        if (r.mode === 'restore') return restore(r, index.manifest);
        // The same run asks again (a retried activity): the snapshot stands, the folder has not moved on.
        if (index.runId !== undefined && index.runId === r.runId) return summary(index.manifest);
        return (await resetToIndex(index)) ? restore(r, index.manifest) : snapshot(r);
      });
    },
  };
}
