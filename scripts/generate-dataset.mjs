#!/usr/bin/env node
// Writes a deterministic JSONL dataset for the dataset-processor demo:
//   node scripts/generate-dataset.mjs <out.jsonl> [records=1000000] [seed=42]
// One record a line: {"id":n,"user":"u123","category":"books","amount":12.34,"ts":1700000000000}.
// Every 10,007th line is deliberately broken, so invalid-input handling is exercised too.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const [out, recordsArg = '1000000', seedArg = '42'] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node scripts/generate-dataset.mjs <out.jsonl> [records=1000000] [seed=42]\n');
  process.exit(2);
}
const records = Number(recordsArg);
if (!Number.isInteger(records) || records <= 0) {
  process.stderr.write(`records: must be a positive whole number, got "${recordsArg}"\n`);
  process.exit(2);
}

// mulberry32: small, fast, deterministic.
let state = Number(seedArg) >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const categories = ['books', 'games', 'garden', 'music', 'office', 'sports', 'tools', 'toys'];
const stream = createWriteStream(out);
let chunk = '';
for (let id = 1; id <= records; id++) {
  if (id % 10_007 === 0) chunk += `{"id":${id},"user":broken\n`;
  else {
    const category = categories[Math.floor(random() * categories.length)];
    const amount = Math.round(random() * 50_000) / 100;
    const user = `u${Math.floor(random() * 5000)}`;
    chunk += `{"id":${id},"user":"${user}","category":"${category}","amount":${amount},"ts":${1_700_000_000_000 + id * 1000}}\n`;
  }
  if (chunk.length > 1 << 20) {
    if (!stream.write(chunk)) await once(stream, 'drain');
    chunk = '';
  }
}
stream.end(chunk);
await once(stream, 'finish');
process.stdout.write(`${out}: ${records} records\n`);
