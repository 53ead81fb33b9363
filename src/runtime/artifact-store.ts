import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtifactRef } from '../shared/step-io';

/** Thrown by `ArtifactStore.get` when an artifact's bytes no longer match its SHA-256 and no good backup exists. */
export class ArtifactCorruptError extends Error {
  override readonly name = 'ArtifactCorruptError';
  constructor(
    readonly ref: ArtifactRef,
    detail: string
  ) {
    super(`artifact ${ref.name} (sha256 ${ref.sha256}) is corrupt: ${detail}`);
  }
}

/** What agent actions see of the store (`ctx.artifacts`). */
export interface Artifacts {
  put(content: string | Buffer, meta: { name: string; mediaType: string }): Promise<ArtifactRef>;
  /** Stores `value` as JSON under `name`. */
  putJson(value: unknown, name: string): Promise<ArtifactRef>;
  get(ref: ArtifactRef): Promise<Buffer>;
  getText(ref: ArtifactRef): Promise<string>;
  getJson<T>(ref: ArtifactRef): Promise<T>;
}

export interface ArtifactStoreOptions {
  /** Folder for backup copies (high durability). @default "<root>-backup" */
  backupRoot?: string;
  /** Told when a corrupt or missing primary copy was restored from its backup. */
  onRestore?: (ref: ArtifactRef, reason: string) => void;
}

const JSON_MEDIA_TYPE = 'application/json';

/** A file-name-safe form of an id. */
export function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function writeAtomic(target: string, data: Buffer): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, data);
  await rename(temp, target);
}

async function hasSize(path: string, bytes: number): Promise<boolean> {
  return (await stat(path).catch(() => null))?.size === bytes;
}

/**
 * Content-addressed blob store on a local (or shared) folder. Writes are atomic (temp file + rename), so
 * a crash never leaves a half-written artifact under its final name; every read verifies the hash. With
 * backup on, each artifact is also written to the backup folder, and a corrupt or missing primary is
 * restored from a verified backup (and reported through `onRestore`) instead of failing.
 */
export class ArtifactStore implements Artifacts {
  readonly backupRoot: string;

  constructor(
    readonly root: string,
    private readonly options: ArtifactStoreOptions = {}
  ) {
    this.backupRoot = options.backupRoot ?? `${root}-backup`;
  }

  pathOf(ref: Pick<ArtifactRef, 'sha256'>): string {
    return join(this.root, 'sha256', ref.sha256.slice(0, 2), ref.sha256);
  }

  backupPathOf(ref: Pick<ArtifactRef, 'sha256'>): string {
    return join(this.backupRoot, 'sha256', ref.sha256.slice(0, 2), ref.sha256);
  }

  /** A view whose `put` also writes a backup copy when `backup` is true. */
  withBackup(backup: boolean): Artifacts {
    if (!backup) return this;
    return {
      put: (content, meta) => this.put(content, meta, { backup: true }),
      putJson: (value, name) =>
        this.put(JSON.stringify(value), { name, mediaType: JSON_MEDIA_TYPE }, { backup: true }),
      get: (ref) => this.get(ref),
      getText: (ref) => this.getText(ref),
      getJson: (ref) => this.getJson(ref),
    };
  }

  async put(
    content: string | Buffer,
    meta: { name: string; mediaType: string },
    opts: { backup?: boolean } = {}
  ): Promise<ArtifactRef> {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const ref: ArtifactRef = {
      sha256: sha256(data),
      bytes: data.length,
      name: meta.name,
      mediaType: meta.mediaType,
    };
    // Content addressed: a blob already stored (a conversation's shared prefix, say) is not written again.
    if (!(await hasSize(this.pathOf(ref), data.length))) await writeAtomic(this.pathOf(ref), data);
    if (opts.backup && !(await hasSize(this.backupPathOf(ref), data.length)))
      await writeAtomic(this.backupPathOf(ref), data);
    return ref;
  }

  async putJson(value: unknown, name: string): Promise<ArtifactRef> {
    return this.put(JSON.stringify(value), { name, mediaType: JSON_MEDIA_TYPE });
  }

  async get(ref: ArtifactRef): Promise<Buffer> {
    const primary = await readFile(this.pathOf(ref)).catch(() => undefined);
    if (primary && sha256(primary) === ref.sha256) return primary;
    const problem = primary ? `its content hashes to ${sha256(primary)}` : 'the file is missing';
    const backup = await readFile(this.backupPathOf(ref)).catch(() => undefined);
    if (backup && sha256(backup) === ref.sha256) {
      await writeAtomic(this.pathOf(ref), backup);
      this.options.onRestore?.(ref, problem);
      return backup;
    }
    throw new ArtifactCorruptError(ref, backup ? `${problem}, and so does its backup` : problem);
  }

  async getText(ref: ArtifactRef): Promise<string> {
    return (await this.get(ref)).toString('utf8');
  }

  async getJson<T>(ref: ArtifactRef): Promise<T> {
    return JSON.parse(await this.getText(ref)) as T;
  }

  /**
   * Where the output of item `index` of fan-out step `stepId` of `taskId` is kept until the fan-out
   * gathers it (a fixed name: a sub-step run again writes over its own earlier output).
   */
  itemOutputPath(taskId: string, stepId: string, index: number): string {
    return join(this.root, 'items', safeSegment(taskId), safeSegment(stepId), `${index}.json`);
  }

  async putItemOutput(taskId: string, stepId: string, index: number, output: unknown): Promise<void> {
    await writeAtomic(
      this.itemOutputPath(taskId, stepId, index),
      Buffer.from(JSON.stringify(output), 'utf8')
    );
  }

  /** The outputs of items `0..total-1`, null for an item that has none (it failed and was skipped). */
  async readItemOutputs(taskId: string, stepId: string, total: number): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let i = 0; i < total; i++) {
      const text = await readFile(this.itemOutputPath(taskId, stepId, i), 'utf8').catch(() => undefined);
      out.push(text === undefined ? null : (JSON.parse(text) as unknown));
    }
    return out;
  }

  /** Copies an existing primary artifact into the backup folder (for artifacts written without backup). */
  async backUp(ref: ArtifactRef): Promise<void> {
    await mkdir(dirname(this.backupPathOf(ref)), { recursive: true });
    await copyFile(this.pathOf(ref), this.backupPathOf(ref));
  }
}
