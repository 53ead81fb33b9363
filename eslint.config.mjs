// @ts-check
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox; shared code is imported by it.
const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/**
 * A layer of src/ that must not import the given folders of src/ (by relative path, from any depth);
 * `sandbox`: no Node built-ins either; `noWorkerRuntime`: nor the SDK's worker package.
 */
function layer(files, forbidden, { sandbox = false, noWorkerRuntime = false, typesFrom = [] } = {}) {
  const paths = [
    ...(sandbox
      ? nodeBuiltins.map((name) => ({
          name,
          message: 'Node built-ins are not allowed in workflow or shared code (Temporal sandbox)',
        }))
      : []),
    ...(noWorkerRuntime
      ? [{ name: '@temporalio/worker', message: 'the client side must load without the worker runtime' }]
      : []),
  ];
  const pattern = (folders, allowTypeImports) => ({
    regex: `^(\\./|(\\.\\./)+)(${folders.join('|')})(/|$)`,
    allowTypeImports,
    message: `${files} sits below ${folders.join(', ')}: imports flow one way (docs/design.md, Layers)`,
  });
  const patterns = [pattern(forbidden, false), ...(typesFrom.length ? [pattern(typesFrom, true)] : [])];
  return [
    {
      files: [files],
      rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }] },
    },
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tools/**', '.longrun/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.mjs', 'bin/*.js', 'scripts/*.mjs', 'examples/tutorial/*.cjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // No import cycles anywhere in the sources.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: { 'import-x/no-cycle': 'error' },
  },
  // Imports flow one way (docs/design.md, "Layers"): shared < workflows; shared < runtime < activities
  // < worker < dev < cluster < cli; the client and the root entry point sit on shared and runtime
  // only; cluster (native Temporal cluster processes) uses dev's package paths, runtime and shared.
  ...layer(
    'src/shared/**',
    ['workflows', 'runtime', 'activities', 'worker', 'dev', 'cluster', 'cli', 'client'],
    {
      sandbox: true,
    }
  ),
  // Workflows name their activities by type only (the sandbox never loads activity code).
  ...layer('src/workflows/**', ['runtime', 'worker', 'dev', 'cluster', 'cli', 'client'], {
    sandbox: true,
    typesFrom: ['activities'],
  }),
  ...layer('src/runtime/**', ['workflows', 'activities', 'worker', 'dev', 'cluster', 'cli', 'client']),
  ...layer('src/activities/**', ['worker', 'dev', 'cluster', 'cli', 'client']),
  ...layer('src/client/**', ['activities', 'worker', 'dev', 'cluster', 'cli'], { noWorkerRuntime: true }),
  ...layer('src/index.ts', ['worker', 'dev', 'cluster', 'cli'], { noWorkerRuntime: true }),
  ...layer('src/worker/**', ['dev', 'cluster', 'cli']),
  ...layer('src/dev/**', ['cluster', 'cli']),
  ...layer('src/cluster/**', ['workflows', 'activities', 'worker', 'client', 'cli']),
  {
    // Jest's asymmetric matchers (expect.any, expect.stringMatching) are typed `any`.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['bin/*.js', 'jest.*.js', 'examples/**/*.cjs', 'test/fixtures/actions/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  }
);
