// Two boundaries are enforced here:
//  - workflows run in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries there;
//  - the product (the worker image and the `ct` command) depends on nothing of the rest of the
//    repository: not on the emulators, the demo and local stack, or the benchmarks. Only its tests may
//    use the emulators. The product and the emulators share the wire types of api-types/, as types only.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const notTheProduct = {
  group: [
    '@continuous-training/emulators*',
    '@continuous-training/stack*',
    '@continuous-training/bench*',
    '**/emulators/**',
    '**/stack/**',
    '**/bench/**',
    '../../emulators/*',
    '../../stack/*',
    '../../bench/*',
  ],
  message: 'The product (product/) must not depend on the emulators, the demo and local stack, or the benchmarks.',
};

// The wire types shared by the product and the emulators exist only as types: nothing of them at run time.
const typesOnly = {
  group: ['@continuous-training/api-types*'],
  allowTypeImports: true,
  message: 'Import the shared wire types with `import type` (the package has no run-time code).',
};

export default tseslint.config(
  { ignores: ['**/node_modules/', '**/build/', '**/.test-build-*/', '.venv/', '.state/', '.cache/', '**/*.js', '**/*.mjs', 'experiments/', 'serving/'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['product/**/*.ts'],
    ignores: ['product/test/**', 'product/workflows/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [notTheProduct, typesOnly] }] },
  },
  {
    files: ['product/workflows/**/*.ts'],
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
            notTheProduct,
            typesOnly,
            { group: ['../activities/*/**', '../activities/**/client*'], message: 'Workflows import activity types only (import type).', allowTypeImports: true },
            { group: ['../worker/**', '../client/**'], message: 'Workflows must stay deterministic.' },
          ],
        },
      ],
    },
  },
  {
    // The emulators stand alone: usable by anyone, they know nothing of the product or of what uses them.
    files: ['emulators/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['continuous-training', 'continuous-training/*', '@continuous-training/stack*', '@continuous-training/bench*', '../../product/*', '../../stack/*', '../../bench/*'],
              message: 'The emulators depend on nothing of the product, the stack or the benchmarks.',
            },
            typesOnly,
          ],
        },
      ],
    },
  },
);
