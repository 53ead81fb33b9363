/**
 * One call under a time limit: `fn` gets a signal that aborts at the limit or when the step stops; at
 * the limit the call fails as a transient failure (the step is retried), even when `fn` ignores its
 * signal.
 */
import { formatDuration } from '../shared/duration';
import { TransientError } from './errors';

export async function callWithLimit<T>(
  what: string,
  limitMs: number,
  stop: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>
): Promise<T> {
  const timeout = AbortSignal.timeout(limitMs);
  const signal = AbortSignal.any([stop, timeout]);
  const timedOut = (cause?: unknown) =>
    new TransientError(
      `${what} timed out after ${formatDuration(limitMs)}`,
      cause === undefined ? {} : { cause }
    );
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), limitMs);
  });
  try {
    // A call that ignores its signal still ends the step's wait at the limit.
    return await Promise.race([fn(signal), expired]);
  } catch (err) {
    if (timeout.aborted && !stop.aborted) throw timedOut(err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
