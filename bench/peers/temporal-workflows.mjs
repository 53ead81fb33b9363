// Workflow code of the bare-Temporal peer (bundled once by bench/peers/temporal.mjs, loaded by its
// workers from that bundle). Each item is one activity, so every finished item is a durable record in
// the workflow's history: Temporal's own way to checkpoint per item.
import { proxyActivities } from '@temporalio/workflow';

// 5 s start-to-close: the same detection time as longrun's `high` level on the standard hardware
// profile (heartbeat timeout 5 s), so workload (c) compares like with like.
const { noop, item } = proxyActivities({ startToCloseTimeout: '5 seconds' });

/** Workload (a): three trivial steps. */
export async function three() {
  await noop(1);
  await noop(2);
  await noop(3);
  return 3;
}

/** Workloads (b), (c): `n` items, one activity each, one after another. */
export async function items(n, ledger) {
  for (let i = 0; i < n; i++) await item(i, ledger);
  return n;
}
