/**
 * Commands an action runs in a child process (`ctx.exec`), under a memory cap and a CPU-time cap
 * (the action's `limits`, or the call's). The child runs in its own process group; at its start and
 * then every 100 ms (every 20 ms once past half a cap) the runner adds up the resident memory and CPU
 * time of the whole group (from /proc) and kills the group the moment a cap is passed: a command
 * can pass a cap by what it grows in one such interval before it is killed. That is a resource failure (ResourceError):
 * runStep empties the step's temp folder and the step is retried after the resource delay, from its
 * cursor.
 *
 * Where /proc is missing (not Linux) the caps are not enforced and the result says so.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { ResourceError } from './errors';
import { withoutSecrets } from '../runtime/secrets';

export interface ChildLimits {
  /** Most resident memory the command's processes may hold together, MB. */
  memoryMb?: number;
  /** Most CPU time the command's processes may use together, seconds. */
  cpuSeconds?: number;
}

export interface ExecOptions extends ChildLimits {
  cwd?: string;
  /** Added to the worker's environment (which has no secret variables). */
  env?: Record<string, string>;
  /** Written to the command's stdin, then closed. */
  input?: string;
  /** Kills the command after this long (a transient failure, not a resource one). */
  timeoutMs?: number;
  /** Most bytes of stdout and of stderr kept (the rest is dropped). @default 1 MiB */
  maxOutputBytes?: number;
}

export interface ExecResult {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The most resident memory the process group held at a sample (at the start, then every 100 ms), bytes. */
  peakRssBytes: number;
  /** CPU time the process group used (user + system), ms, at the last sample. */
  cpuMs: number;
  /** Whether the caps could be watched (Linux /proc). */
  limitsEnforced: boolean;
}

const POLL_MS = 100;
/** Past half a cap, samples come this often: a fast allocator overshoots by 20 ms of growth, not 100. */
const NEAR_CAP_POLL_MS = 20;
const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_BYTES = 4096;

/** Resident bytes and CPU ms of every process in group `pgid`; null where /proc cannot be read. */
export async function groupUsage(pgid: number): Promise<{ rssBytes: number; cpuMs: number } | null> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  let rssBytes = 0;
  let cpuMs = 0;
  await Promise.all(
    pids.map(async (pid) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      // Fields after the command name (which may hold spaces) in parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) return; // field 5: process group
      cpuMs += ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS; // utime, stime
      rssBytes += Number(fields[21]) * PAGE_BYTES; // rss, pages
    })
  );
  return { rssBytes, cpuMs };
}

/** Runs `command` with `args` (no shell) under the caps; rejects with ResourceError when one is passed. */
export function execLimited(
  command: string,
  args: readonly string[],
  opts: ExecOptions = {},
  signal?: AbortSignal
): Promise<ExecResult> {
  const maxOutput = opts.maxOutputBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...withoutSecrets(), ...opts.env },
      detached: true, // its own process group: the caps cover what it starts, and a kill stops them all
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < maxOutput) stdout += d.toString('utf8').slice(0, maxOutput - stdout.length);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < maxOutput) stderr += d.toString('utf8').slice(0, maxOutput - stderr.length);
    });
    child.stdin.on('error', () => undefined); // a command that never reads its input
    child.stdin.end(opts.input ?? '');

    let peakRssBytes = 0;
    let cpuMs = 0;
    let enforced = true;
    let over: ResourceError | Error | undefined;
    const killGroup = (why: ResourceError | Error): void => {
      over ??= why;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const name = [command, ...args].join(' ').slice(0, 80);
    // One sample at a time, the first at once: on a busy machine a /proc walk can take longer than
    // POLL_MS, and overlapping walks only slow each other down until a short command ends unsampled.
    const watched = opts.memoryMb !== undefined || opts.cpuSeconds !== undefined;
    let closed = false;
    let nextSample: NodeJS.Timeout | undefined;
    let sampling: Promise<void> = Promise.resolve();
    const sample = async (): Promise<void> => {
      if (!child.pid || closed) return;
      const usage = await groupUsage(child.pid);
      if (!usage) {
        enforced = false;
        return;
      }
      peakRssBytes = Math.max(peakRssBytes, usage.rssBytes);
      cpuMs = Math.max(cpuMs, usage.cpuMs);
      const mb = usage.rssBytes / 1024 / 1024;
      if (opts.memoryMb !== undefined && mb > opts.memoryMb) {
        killGroup(
          new ResourceError(
            `"${name}" held ${Math.round(mb)} MB, over its memory cap of ${opts.memoryMb} MB: killed`
          )
        );
      } else if (opts.cpuSeconds !== undefined && usage.cpuMs / 1000 > opts.cpuSeconds) {
        killGroup(
          new ResourceError(
            `"${name}" used ${(usage.cpuMs / 1000).toFixed(1)} s of CPU, over its cap of ${opts.cpuSeconds} s: killed`
          )
        );
      }
      if (closed) return;
      const near = Math.max(
        opts.memoryMb === undefined ? 0 : mb / opts.memoryMb,
        opts.cpuSeconds === undefined ? 0 : usage.cpuMs / 1000 / opts.cpuSeconds
      );
      nextSample = setTimeout(
        () => {
          sampling = sample();
        },
        near >= 0.5 ? NEAR_CAP_POLL_MS : POLL_MS
      );
    };
    if (watched) sampling = sample();
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => killGroup(new Error(`"${name}" took longer than ${opts.timeoutMs} ms: killed`)),
            opts.timeoutMs
          );
    const onAbort = (): void =>
      killGroup(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();

    const done = (): void => {
      closed = true;
      clearTimeout(nextSample);
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      done();
      reject(err);
    });
    child.once('close', (code, sig) => {
      done();
      // A walk under way may have read the command before it ended: its figures count.
      void sampling.then(() => {
        if (over) return reject(over);
        resolve({ code, signal: sig, stdout, stderr, peakRssBytes, cpuMs, limitsEnforced: enforced });
      });
    });
  });
}
