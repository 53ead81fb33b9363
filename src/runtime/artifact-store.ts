import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactRef } from '../shared/step-io';

/** Thrown by `ArtifactStore.get` when a stored artifact's bytes no longer match its SHA-256. */
export class ArtifactCorruptError extends Error {
  override readonly name = 'ArtifactCorruptError';
  constructor(
    readonly ref: ArtifactRef,
    actual: string
  ) {
    super(`artifact ${ref.name} (sha256 ${ref.sha256}) is corrupt: its content hashes to ${actual}`);
  }
}

/**
 * Content-addressed blob store on a local (or shared) folder. Writes are atomic (temp file + rename), so
 * a crash never leaves a half-written artifact under its final name; reads verify the hash.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  pathOf(ref: Pick<ArtifactRef, 'sha256'>): string {
    return join(this.root, 'sha256', ref.sha256.slice(0, 2), ref.sha256);
  }

  async put(content: string | Buffer, meta: { name: string; mediaType: string }): Promise<ArtifactRef> {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const sha256 = createHash('sha256').update(data).digest('hex');
    const ref: ArtifactRef = { sha256, bytes: data.length, name: meta.name, mediaType: meta.mediaType };
    const target = this.pathOf(ref);
    await mkdir(join(target, '..'), { recursive: true });
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, data);
    await rename(temp, target);
    return ref;
  }

  async get(ref: ArtifactRef): Promise<Buffer> {
    const data = await readFile(this.pathOf(ref));
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== ref.sha256) throw new ArtifactCorruptError(ref, actual);
    return data;
  }

  async getText(ref: ArtifactRef): Promise<string> {
    return (await this.get(ref)).toString('utf8');
  }

  async getJson<T>(ref: ArtifactRef): Promise<T> {
    return JSON.parse(await this.getText(ref)) as T;
  }
}
