// Workflows run in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries there.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/', 'build/', '.venv/', '.state/', '**/*.js', '**/*.mjs', 'experiments/', 'serving/'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...builtinModules.flatMap((m) => [m, `node:${m}`]),
            'axios',
            'js-yaml',
            'tar-stream',
            '@temporalio/activity',
            '@temporalio/client',
            '@temporalio/worker',
          ],
          patterns: [
            { group: ['../activities/*/**', '../activities/**/client*'], message: 'Workflows import activity types only (import type).', allowTypeImports: true },
            { group: ['../worker/**', '../client/**', '../emulators/**'], message: 'Workflows must stay deterministic.' },
          ],
        },
      ],
    },
  },
);
