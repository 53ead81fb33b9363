// Peer 3: Restate, the server binary from npm (@restatedev/restate-server ships it in a platform
// package) and the TypeScript SDK. Each step and each item is a journaled `ctx.run`. Run as
// `node restate.mjs --work --port P` it is the work process: the service endpoint (HTTP/2).
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  children, killWork, ledgerItem, postJson, requirePeers, sleep, spawnWork, stopWork, versionOf, waitFor,
} from './common.mjs'; // prettier-ignore

const SELF = fileURLToPath(import.meta.url);

if (process.argv.includes('--work')) {
  const { values } = parseArgs({ options: { work: { type: 'boolean' }, port: { type: 'string' } } });
  // This SDK calls Promise.withResolvers (Node 22+) and declares no engines; on Node 20 the endpoint
  // gets the standard behaviour from this stand-in (no effect on timing).
  Promise.withResolvers ??= function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
  const restate = await import(requirePeers.resolve('@restatedev/restate-sdk'));
  const peers = restate.service({
    name: 'peers',
    handlers: {
      // Workload (a): three trivial steps, each journaled.
      three: async (ctx) => {
        for (const x of [1, 2, 3]) await ctx.run(`s${x}`, async () => x);
        return 3;
      },
      // Workloads (b), (c): one journal entry per item; ctx.run resolves once the server has the entry.
      items: async (ctx, input) => {
        for (let i = 0; i < input.n; i++) await ctx.run('item', async () => ledgerItem(input.ledger, i));
        return input.n;
      },
    },
  });
  await restate.serve({ services: [peers], port: Number(values.port) });
  process.stdout.write('ready\n');
}

export const name = 'Restate';

export async function setup({ dir, freePort }) {
  const ingressPort = await freePort();
  const adminPort = await freePort();
  const fabricPort = await freePort();
  const endpointPort = await freePort();
  const binary = requirePeers.resolve(
    `@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`
  );
  const log = openSync(join(dir, 'restate-server.log'), 'a');
  // Defaults otherwise: one node with every role, RocksDB stores with their write-ahead logs fsynced
  // (`rocksdb-disable-wal-fsync = false` in the log server and local loglet), 24 partitions.
  const server = spawn(binary, ['--base-dir', join(dir, 'restate-data'), '--node-name', 'peers', '--listen-mode', 'tcp', '--no-logo'], {
    env: {
      ...process.env,
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingressPort}`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${adminPort}`,
      RESTATE_BIND_ADDRESS: `127.0.0.1:${fabricPort}`,
      RESTATE_DISABLE_TELEMETRY: 'true',
      RESTATE_LOG_FILTER: 'warn',
    },
    stdio: ['ignore', log, log],
  }); // prettier-ignore
  closeSync(log);
  children.add(server);
  const serverExited = new Promise((resolve) => server.once('exit', resolve));
  const ingress = `http://127.0.0.1:${ingressPort}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitFor('the Restate server', async () => {
    if (server.exitCode !== null) throw new Error(`restate-server exited ${server.exitCode}, see its log`);
    const ok = await fetch(`${admin}/health`).then((r) => r.ok, () => false);
    return ok && (await fetch(`${ingress}/restate/health`).then((r) => r.ok, () => false));
  }, 120_000, 100); // prettier-ignore
  const version = await fetch(`${admin}/version`)
    .then((r) => r.json())
    .then(
      (v) => v.version,
      () => 'unknown'
    );

  let work;
  let registered = false;
  const call = (handler, body) => postJson(`${ingress}/peers/${handler}`, body);
  return {
    settings: [
      `restate-server ${version} (single node, all roles, default configuration), persistence: RocksDB (Bifrost log + partition store) under a temp folder on local disk`,
      "fsync: on (the default: the log server's and local loglet's RocksDB WAL is fsynced, `rocksdb-disable-wal-fsync = false`)",
      'a checkpoint: a `ctx.run` journal entry, appended to the durable log and acknowledged before the handler continues',
      'endpoint: SDK `serve()` (HTTP/2) in its own process; retry on a lost endpoint: default policy (first retry after 500 ms, x2)',
      `SDK @restatedev/restate-sdk ${versionOf(requirePeers, '@restatedev/restate-sdk')}, server package ${versionOf(requirePeers, '@restatedev/restate-server')}`,
    ],
    async startWork() {
      work = await spawnWork(SELF, ['--work', '--port', String(endpointPort)], {
        name: 'restate endpoint',
        env: { RESTATE_LOGGING: 'WARN' },
      });
      if (!registered) {
        // Registered once: the server discovers the handlers, and finds a restarted endpoint at the same URI.
        await postJson(`${admin}/deployments`, { uri: `http://127.0.0.1:${endpointPort}` });
        registered = true;
        await waitFor('the service at the ingress', () => call('three', {}).then(() => true, () => sleep(100).then(() => false)), 30_000, 0); // prettier-ignore
      }
      return work;
    },
    kill: () => killWork(work),
    three: () => call('three', {}),
    items: (_id, n, ledger) => call('items', { n, ledger }),
    async startItems(_id, n, ledger) {
      // The ingress holds the request open while the server retries the invocation on the restarted
      // endpoint, and answers once it completes.
      const done = call('items', { n, ledger });
      done.catch(() => {});
      return () => done;
    },
    async close() {
      await stopWork(work);
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await serverExited;
      clearTimeout(timer);
    },
  };
}
