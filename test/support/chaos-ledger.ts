import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

/** One line of the `codebase.analyze` audit log: a file analysis, written outside the worker's state. */
export interface LedgerLine {
  pid: number;
  attempt: number;
  index: number;
  path: string;
  /** Epoch ms, after the file was analyzed. */
  at: number;
}

/**
 * Follows one append-only JSONL ledger per task, reading only the bytes added since the last poll
 * (so polling every 50 ms stays cheap while tens of thousands of lines accumulate). A torn last line
 * (a worker killed in the middle of a write) is left for the next poll.
 */
export class LedgerTail {
  readonly lines = new Map<string, LedgerLine[]>();
  private readonly offsets = new Map<string, number>();
  private total = 0;

  constructor(private readonly paths: ReadonlyMap<string, string>) {
    for (const taskId of paths.keys()) {
      this.lines.set(taskId, []);
      this.offsets.set(taskId, 0);
    }
  }

  /** Reads what was appended since the last call; returns the total number of lines. */
  poll(): number {
    for (const [taskId, path] of this.paths) {
      if (!existsSync(path)) continue;
      const fd = openSync(path, 'r');
      try {
        const from = this.offsets.get(taskId) ?? 0;
        const size = fstatSync(fd).size;
        if (size <= from) continue;
        const buffer = Buffer.alloc(size - from);
        readSync(fd, buffer, 0, buffer.length, from);
        const end = buffer.lastIndexOf(0x0a);
        if (end < 0) continue;
        const parsed = buffer
          .subarray(0, end)
          .toString('utf8')
          .split('\n')
          .map((line) => JSON.parse(line) as LedgerLine);
        this.lines.get(taskId)?.push(...parsed);
        this.total += parsed.length;
        this.offsets.set(taskId, from + end + 1);
      } finally {
        closeSync(fd);
      }
    }
    return this.total;
  }

  /** The earliest line written after `since` (epoch ms), over all tasks or one task. */
  firstAfter(since: number, taskId?: string): LedgerLine | undefined {
    let first: LedgerLine | undefined;
    for (const [id, lines] of this.lines) {
      if (taskId !== undefined && id !== taskId) continue;
      for (let i = lines.length - 1; i >= 0 && (lines[i]?.at ?? 0) > since; i--) {
        const line = lines[i] as LedgerLine;
        if (!first || line.at < first.at) first = line;
      }
    }
    return first;
  }
}

/** A work item done more than once: every occurrence but the last of a (task, file index) pair. */
export interface RedoneItem {
  taskId: string;
  index: number;
  /** When the occurrence that had to be redone was written (epoch ms). */
  at: number;
  pid: number;
}

/** Every occurrence of an item that was later processed again, per task. */
export function redoneItems(lines: ReadonlyMap<string, readonly LedgerLine[]>): RedoneItem[] {
  const out: RedoneItem[] = [];
  for (const [taskId, taskLines] of lines) {
    const last = new Map<number, LedgerLine>();
    for (const line of taskLines) {
      const earlier = last.get(line.index);
      if (earlier) out.push({ taskId, index: earlier.index, at: earlier.at, pid: earlier.pid });
      last.set(line.index, line);
    }
  }
  return out;
}

/**
 * The interval in which work a crash may cost was done: a worker kill loses at most the items done in
 * the last checkpoint interval before it; a server kill also loses what the worker did while the
 * server was away (no cursor can be recorded then) until its first heartbeat reached the new server.
 */
export interface CrashWindow {
  crash: number;
  from: number;
  to: number;
}

/** Assigns each redone item to the crash window it fell in; `undefined` when it fits none. */
export function attributeRedone(
  redone: readonly RedoneItem[],
  windows: readonly CrashWindow[]
): Map<number | undefined, RedoneItem[]> {
  const byCrash = new Map<number | undefined, RedoneItem[]>();
  for (const item of redone) {
    const crash = windows.find((w) => item.at >= w.from && item.at <= w.to)?.crash;
    const list = byCrash.get(crash) ?? [];
    list.push(item);
    byCrash.set(crash, list);
  }
  return byCrash;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same chaos schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
