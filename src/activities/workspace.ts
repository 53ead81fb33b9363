/**
 * Workspace snapshots: a task that names a `workspace` folder has it snapshotted at every checkpoint
 * and restored exactly on a rollback. Each file version is stored once, content addressed, in the
 * artifact store; a snapshot is a manifest of paths, hashes and modes. The activity is keyed by task
 * and checkpoint: the first call for a checkpoint takes the snapshot, any later one (a Temporal reset
 * to that checkpoint re-runs the workflow task that asked) restores it.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
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
    await writeFile(indexPath(r), JSON.stringify(manifest));
    return { action: 'snapshot', files: entries.filter((e) => e.kind === 'file').length, bytes, newBytes };
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
        const index = await readFile(indexPath(r), 'utf8').catch(() => null);
        if (index !== null) return restore(r, JSON.parse(index) as ArtifactRef);
        if (r.mode === 'restore')
          throw new Error(`checkpoint ${r.checkpointId} of task ${r.taskId} has no workspace snapshot`);
        return snapshot(r);
      });
    },
  };
}
