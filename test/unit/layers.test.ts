/**
 * The import direction of src/ (docs/design.md, Layers) is enforced by the lint configuration: the
 * whole source tree passes it, and an import against the direction is refused.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

jest.setTimeout(120_000);

// Each probe is linted as the text of an existing file of that layer (the type-aware parser needs one).
const refused: Array<[string, string]> = [
  ['src/runtime/secrets.ts', "import { createLongrunWorker } from '../worker/factory';"],
  ['src/activities/action.ts', "import { runDev } from '../dev/command';"],
  ['src/shared/duration.ts', "import { loadConfig } from '../runtime/config';"],
  ['src/shared/duration.ts', "import { readFileSync } from 'node:fs';"],
  ['src/workflows/long-task/engine.ts', "import { createActivities } from '../../activities';"],
  ['src/index.ts', "import { Worker } from '@temporalio/worker';"],
  ['src/client/errors.ts', "import { Worker } from '@temporalio/worker';"],
  ['src/client/errors.ts', "import { createActivities } from '../activities';"],
  ['src/index.ts', "export { createLongrunWorker } from './worker/factory';"],
];
const allowed: Array<[string, string]> = [
  ['src/workflows/long-task/engine.ts', "import type { LongrunActivities } from '../../activities';"],
  ['src/worker/factory.ts', "import { createActivities } from '../activities';"],
  ['src/activities/llm/summarize.ts', "import { LlmClient } from './llm-client';"],
];

let lint: { tree: string[]; probes: string[][] };

beforeAll(() => {
  const probes = [...refused, ...allowed].map(([file, code]) => ({
    file,
    code: `${code}\nexport const x = 1;\n`,
  }));
  const run = spawnSync(process.execPath, [join(__dirname, '..', 'support', 'lint-probes.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(probes),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`lint-probes failed: ${run.stderr}`);
  lint = JSON.parse(run.stdout) as typeof lint;
});

test('the sources have no import cycles and no import against the layers', () => {
  expect(lint.tree).toEqual([]);
});

test.each(refused.map((probe, i) => [...probe, i] as const))('%s may not %s', (_file, _code, i) => {
  expect(lint.probes[i]).toHaveLength(1);
});

test.each(allowed.map((probe, i) => [...probe, refused.length + i] as const))(
  '%s may %s',
  (_file, _code, i) => {
    expect(lint.probes[i]).toEqual([]);
  }
);
