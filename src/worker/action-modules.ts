/**
 * Actions from the user's own modules (`--actions ./my-actions.js`, `LONGRUN_ACTIONS`): every
 * exported value that is an action (`defineAction(...)`), or an array of them, is registered with
 * the worker next to the built-in ones.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AgentAction } from '../activities';

function isAction(value: unknown): value is AgentAction {
  const a = value as Partial<AgentAction> | null;
  return (
    typeof a === 'object' &&
    a !== null &&
    typeof a.name === 'string' &&
    typeof a.run === 'function' &&
    typeof (a.input as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}

// A real dynamic import (this file is compiled to CommonJS, where `import()` would become `require`).
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed text, no input in it
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
const requireModule = createRequire(__filename);

async function loadModule(path: string): Promise<Record<string, unknown>> {
  try {
    return requireModule(path) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_REQUIRE_ESM') throw err;
    return (await importModule(pathToFileURL(path).href)) as Record<string, unknown>;
  }
}

/** The actions `paths` export; an error names the file and what is wrong with it. */
export async function loadActionModules(
  paths: readonly string[],
  cwd = process.cwd()
): Promise<AgentAction[]> {
  const actions: AgentAction[] = [];
  for (const given of paths) {
    const path = resolve(cwd, given);
    let exports: Record<string, unknown>;
    try {
      exports = await loadModule(path);
    } catch (err) {
      throw new Error(
        `actions module ${given}: cannot be loaded (${err instanceof Error ? err.message : String(err)})`
      );
    }
    const found = Object.values(exports)
      .flatMap((v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : [v]))
      .filter(isAction);
    if (found.length === 0) {
      throw new Error(`actions module ${given}: exports no action (export the result of defineAction(...))`);
    }
    actions.push(...new Set(found));
  }
  return actions;
}
