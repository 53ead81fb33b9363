/**
 * Activity slots that follow the worker's resource mode: the worker polls for a new step only while
 * fewer than `capacity()` run (all slots in normal mode, fewer in degraded and minimal, ramping up in
 * recovery). Steps already running keep their slots; a smaller capacity only stops new ones.
 * An SDK custom slot supplier (`tuner.activityTaskSlotSupplier`).
 */
import type {
  ActivitySlotInfo,
  CustomSlotSupplier,
  SlotMarkUsedContext,
  SlotPermit,
  SlotReleaseContext,
  SlotReserveContext,
  WorkerTuner,
} from '@temporalio/worker';

export class ModeSlotSupplier implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom' as const;
  private used = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly capacity: () => number) {}

  /** Slots reserved now (polling or running). */
  get reserved(): number {
    return this.used;
  }

  async reserveSlot(_ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotPermit> {
    while (this.used >= this.capacity()) {
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          abortSignal.removeEventListener('abort', abort);
          resolve();
        };
        const abort = (): void => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(
            abortSignal.reason instanceof Error ? abortSignal.reason : new Error('slot reservation aborted')
          );
        };
        if (abortSignal.aborted) return abort();
        abortSignal.addEventListener('abort', abort, { once: true });
        this.waiters.push(wake);
      });
    }
    this.used++;
    return {};
  }

  tryReserveSlot(_ctx: SlotReserveContext): SlotPermit | null {
    if (this.used >= this.capacity()) return null;
    this.used++;
    return {};
  }

  markSlotUsed(_ctx: SlotMarkUsedContext<ActivitySlotInfo>): void {}

  releaseSlot(_ctx: SlotReleaseContext<ActivitySlotInfo>): void {
    this.used = Math.max(0, this.used - 1);
    this.wake();
  }

  /** Lets waiting reservations look at the capacity again (after it grew). */
  wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/** A tuner: activity slots by mode, the SDK's usual fixed sizes for the other task types. */
export function modeTuner(activities: ModeSlotSupplier): WorkerTuner {
  return {
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 40 },
    activityTaskSlotSupplier: activities,
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
  };
}
