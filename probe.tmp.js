const { LongrunClient, codebaseReviewSpec } = require('/work/main/dist/index.js');
const { decodeArrayFromPayloads } = require('/work/main/node_modules/@temporalio/common/lib/internal-non-workflow');
(async () => {
  const c = await LongrunClient.connect({ address: '127.0.0.1:17299', config: { ...require('/work/main/dist/runtime/config').loadConfig(), taskQueue: 'x' } });
  const id = 'probe-' + Date.now();
  await c.start(codebaseReviewSpec({ taskId: id, root: '/tmp/big', durability: 'high', heartbeatTimeoutMs: 2000, auditLog: '/tmp/audit.jsonl' }));
  const t0 = Date.now();
  for (let i = 0; i < 40; i++) {
    const d = await c.client.workflow.getHandle(id).describe();
    const p = d.raw.pendingActivities?.[0];
    let det = null;
    if (p?.heartbeatDetails?.payloads?.length) det = (await decodeArrayFromPayloads(c.client.options.loadedDataConverter, p.heartbeatDetails.payloads))[0];
    console.log(Date.now() - t0, d.status.name, p?.activityType?.name, p?.attempt, JSON.stringify(det)?.slice(0, 120));
    if (d.status.name !== 'RUNNING') break;
    await new Promise(r => setTimeout(r, 250));
  }
  process.exit(0);
})();
