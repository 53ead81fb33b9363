// Lints probe sources as if they were files of src/ and the whole src/ tree, in one process (jest's VM
// cannot load ESLint's ESM config). Input on stdin: [{ file, code }]; output: JSON on stdout.
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const eslint = new ESLint({ cwd: root });
const probes = JSON.parse(readFileSync(0, 'utf8'));
const rules = (messages, ...ids) => messages.filter((m) => ids.includes(m.ruleId));
const out = { tree: [], probes: [] };
for (const r of await eslint.lintFiles(['src'])) {
  for (const m of rules(r.messages, 'import-x/no-cycle', '@typescript-eslint/no-restricted-imports'))
    out.tree.push(`${r.filePath}:${m.line} ${m.message}`);
}
for (const { file, code } of probes) {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  out.probes.push(
    rules(result?.messages ?? [], '@typescript-eslint/no-restricted-imports').map((m) => m.message)
  );
}
process.stdout.write(JSON.stringify(out));
