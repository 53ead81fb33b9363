/**
 * Seeded generators of hostile input: mutated task specs, junk payloads, CLI argument lists and
 * environments. Every case is reproducible from its seed (`FUZZ_SEED`), printed when a case fails.
 */
import { seededRandom } from './chaos-ledger';

/** The chaos test's seeded PRNG: the same sequence for the same seed on every machine. */
export const rng = seededRandom;

export type Rand = () => number;
export const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;

/** Values a caller might pass: wrong types, edge numbers, non-JSON, huge, deep, references. */
export function junk(r: Rand): unknown {
  const deep = (): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < 80; i++) v = { v };
    return v;
  };
  return pick<() => unknown>(r, [
    () => null,
    () => -1,
    () => 0,
    () => 1.5,
    () => 2 ** 53 + 2,
    () => Number.NaN,
    () => Infinity,
    () => 10n,
    () => '',
    () => ' ',
    () => 'x'.repeat(300),
    () => 'x'.repeat(20_000),
    () => 'a/../b', // a relative path: the fuzz suite runs in its own temporary folder
    () => '\u0000\u202e',
    () => [],
    () => [1, 'a', null],
    () => ({}),
    () => ({ nested: { a: [1, 2] } }),
    () => true,
    () => '2020-01-01T00:00:00Z',
    () => ({ $from: 'nosuch.field' }),
    () => ({ $item: true }),
    () => () => 1,
    deep,
  ])();
}

type Json = Record<string, unknown> | unknown[];

/** Every object and array inside `value` with the path to it. */
function containers(
  value: unknown,
  path: (string | number)[] = [],
  out: { path: (string | number)[]; node: Json }[] = []
) {
  if (typeof value !== 'object' || value === null) return out;
  out.push({ path, node: value as Json });
  for (const [k, v] of Object.entries(value))
    containers(v, [...path, Array.isArray(value) ? Number(k) : k], out);
  return out;
}

const ACTIONS_SEEN = ['test.tally', 'test.list', 'test.echo', 'test.slwo', 'codebase.scan', 'nosuch', ''];

/** One to three mutations of a copy of `base`; returns the spec and what was done (for the report). */
export function mutateSpec(
  r: Rand,
  base: Record<string, unknown>
): { spec: Record<string, unknown>; what: string[] } {
  const spec = structuredClone(base);
  const what: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const all = containers(spec);
    const { path, node } = pick(r, all);
    const keys = Object.keys(node);
    const at = path.join('.') || '(root)';
    switch (
      pick(r, ['delete', 'add', 'replace', 'replace', 'action', 'ref', 'deadline', 'webhook'] as const)
    ) {
      case 'delete': {
        if (keys.length === 0) break;
        const key = pick(r, keys);
        if (Array.isArray(node)) node.splice(Number(key), 1);
        else delete node[key];
        what.push(`delete ${at}.${key}`);
        break;
      }
      case 'add': {
        const value = junk(r);
        if (Array.isArray(node)) node.push(value);
        else node[pick(r, ['bogus', 'retries', 'evnts', 'timeout', 'id', '__proto__x'])] = value;
        what.push(`add to ${at}`);
        break;
      }
      case 'replace': {
        if (keys.length === 0) break;
        const key = pick(r, keys);
        (node as Record<string, unknown>)[key] = junk(r);
        what.push(`replace ${at}.${key}`);
        break;
      }
      case 'action': {
        const steps = all.filter(
          (c) => !Array.isArray(c.node) && typeof (c.node as { action?: unknown }).action === 'string'
        );
        if (steps.length === 0) break;
        const step = pick(r, steps).node as Record<string, unknown>;
        step.action = pick(r, ACTIONS_SEEN);
        what.push(`action ${String(step.action)}`);
        break;
      }
      case 'ref': {
        const refs = all.filter((c) => !Array.isArray(c.node) && '$from' in c.node);
        if (refs.length === 0) break;
        const ref = pick(r, refs).node as Record<string, unknown>;
        ref.$from = pick(r, ['nosuch.items', 'fan.x', 'list', 'list.items.0.label', 'echo.value', '']);
        what.push(`ref ${String(ref.$from)}`);
        break;
      }
      case 'deadline':
        spec.deadline = pick(r, ['2020-01-01T00:00:00Z', 'tomorrow', '2999-01-01T00:00:00Z', 5]);
        what.push(`deadline ${String(spec.deadline)}`);
        break;
      case 'webhook':
        spec.webhooks = [
          pick(r, [
            { url: 'http://127.0.0.1:9/h', evnts: ['task.failed'] },
            { url: 'ftp://x' },
            { url: 'http://127.0.0.1:9/h', events: ['task.nope'] },
          ]),
        ];
        what.push('webhook');
        break;
    }
  }
  return { spec, what };
}

/** A random `longrun` command line: commands, ids and flags, good and bad. */
export function cliArgs(r: Rand): string[] {
  const ids = ['some-task', '', ' ', 'bad id', 'a'.repeat(300), '../x', '-x', '--json'];
  const command = pick(r, [
    'status',
    'watch',
    'pause',
    'resume',
    'cancel',
    'extend',
    'continue',
    'logs',
    'checkpoints',
    'checkpoint',
    'rollback',
    'retry',
    'result',
    'list',
    'failed',
    'start',
    'nosuch',
  ]);
  const args = [command];
  if (!['list', 'failed', 'nosuch'].includes(command)) args.push(pick(r, ids));
  if (command === 'rollback') args.push(pick(r, ['manual-1', '', 'bad id']));
  const flags: [string, string[]][] = [
    ['--by', ['2h', 'soon', '-1', '0', '99999d', '']],
    ['--until', ['2020-01-01T00:00:00Z', 'never', '']],
    ['--reason', ['why', '', 'x'.repeat(5000)]],
    ['--label', ['l', '']],
    ['--interval', ['10', '-1', 'abc']],
    ['--limit', ['5', '0', '1.5']],
    ['--state', ['paused', 'sleeping']],
    ['--from', ['recovery', 'start', 'bad id']],
    ['--json', []],
  ];
  const count = Math.floor(r() * 3);
  for (let i = 0; i < count; i++) {
    const [flag, values] = pick(r, flags);
    args.push(flag);
    if (values.length) args.push(pick(r, values));
  }
  return args;
}

/** A random environment for `loadConfig`: each variable unset, good, or bad. */
export function environment(r: Rand, names: readonly string[]): Record<string, string> {
  const values = [
    '',
    'abc',
    '-1',
    '0',
    '1',
    '99999999999',
    '1.5',
    'true',
    'maybe',
    'http://127.0.0.1:1',
    'ftp://x',
    ' ',
    'x'.repeat(500),
    '127.0.0.1:7233',
  ];
  const env: Record<string, string> = {};
  for (const name of names) if (r() < 0.3) env[name] = pick(r, values);
  return env;
}
