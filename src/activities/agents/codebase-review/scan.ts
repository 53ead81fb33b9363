import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { ArtifactRef } from '../../../shared/step-io';
import { defineAction } from '../../action';

// prettier-ignore
export const DEFAULT_EXTENSIONS = [
  '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.py', '.go', '.rs', '.java', '.kt', '.scala', '.c', '.h',
  '.cc', '.cpp', '.hpp', '.cs', '.rb', '.php', '.swift', '.sh', '.sql', '.css', '.html', '.md', '.yml',
  '.yaml', '.toml', '.json',
];
export const DEFAULT_EXCLUDED_DIRS = [
  'node_modules',
  '.git',
  'dist',
  'build',
  'coverage',
  'target',
  'vendor',
  '.tools',
  '.longrun',
  '.next',
];

export interface ManifestEntry {
  /** Path relative to the root, with `/` separators. */
  path: string;
  bytes: number;
}

export interface Manifest {
  root: string;
  files: ManifestEntry[];
}

const ScanInput = z.strictObject({
  /** Folder to review; relative paths resolve against the worker's working directory. */
  root: z.string().min(1),
  extensions: z
    .array(z.string().regex(/^\.[^./\\]+$/, 'must look like ".ts"'))
    .min(1)
    .default(DEFAULT_EXTENSIONS),
  excludeDirs: z.array(z.string().min(1)).default(DEFAULT_EXCLUDED_DIRS),
  /** Files larger than this are listed as skipped, not analyzed. @default 2 MiB */
  maxFileBytes: z
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024),
  /**
   * Also write one manifest per top-level folder (files directly in the root make the group "."), as
   * `folders`, for a review that fans out over them. @default false
   */
  byFolder: z.boolean().default(false),
});

/** One top-level folder's share of a review: its own manifest (paths still relative to the root). */
export interface FolderGroup {
  folder: string;
  files: number;
  manifest: ArtifactRef;
}

/** The files under each top-level folder, in path order. */
function byTopFolder(files: readonly ManifestEntry[]): Map<string, ManifestEntry[]> {
  const groups = new Map<string, ManifestEntry[]>();
  for (const file of files) {
    const slash = file.path.indexOf('/');
    const folder = slash < 0 ? '.' : file.path.slice(0, slash);
    const group = groups.get(folder);
    if (group) group.push(file);
    else groups.set(folder, [file]);
  }
  return groups;
}

async function walk(
  root: string,
  dir: string,
  opts: z.output<typeof ScanInput>,
  out: ManifestEntry[],
  skipped: string[]
) {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!opts.excludeDirs.includes(entry.name)) await walk(root, full, opts, out, skipped);
    } else if (entry.isFile() && opts.extensions.some((ext) => entry.name.endsWith(ext))) {
      const rel = relative(root, full).split(sep).join('/');
      const { size } = await stat(full);
      if (size > opts.maxFileBytes) skipped.push(rel);
      else out.push({ path: rel, bytes: size });
    }
  }
}

/** Lists the files to review into a manifest artifact, sorted by path so every attempt sees one order. */
export const scanAction = defineAction({
  name: 'codebase.scan',
  description: 'List the source files under a folder into a manifest artifact',
  input: ScanInput,
  async run(ctx, input) {
    const root = resolve(input.root);
    const rootStat = await stat(root).catch(() => undefined);
    if (!rootStat?.isDirectory())
      throw new Error(`root "${input.root}" is not a directory (resolved to ${root})`);
    const files: ManifestEntry[] = [];
    const skipped: string[] = [];
    await walk(root, root, input, files, skipped);
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest: Manifest = { root: input.root, files };
    const ref = await ctx.artifacts.putJson(manifest, 'manifest.json');
    const folders: FolderGroup[] = [];
    if (input.byFolder) {
      for (const [folder, entries] of byTopFolder(files)) {
        const part: Manifest = { root: input.root, files: entries };
        folders.push({
          folder,
          files: entries.length,
          manifest: await ctx.artifacts.putJson(part, `manifest-${folder}.json`),
        });
      }
    }
    ctx.progress(files.length, files.length, 'scanned');
    return {
      manifest: ref,
      ...(input.byFolder ? { folders } : {}),
      files: files.length,
      bytes: files.reduce((a, f) => a + f.bytes, 0),
      skipped: skipped.length,
    };
  },
});
