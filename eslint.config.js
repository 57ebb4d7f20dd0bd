// Lint rules. Type-aware rules catch the mistakes that matter most in async crypto code
// (a forgotten await silently skips a check); the import restrictions keep the layering of
// DESIGN.md true: only apps, the server and the node entry points touch node: built-ins,
// and only packages/protocol uses ts-mls at run time.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = {
  patterns: [
    { group: ['node:*'], message: 'node: built-ins belong in apps, the server and node entry points.' },
  ],
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'bench/results/**', 'bench/.yardstick/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Promise-returning APIs are written `async` so that bad input rejects instead of
      // throwing before a promise exists, whether or not the body awaits.
      '@typescript-eslint/require-await': 'off',
      eqeqeq: 'error',
      'no-console': 'error',
    },
  },
  {
    files: ['packages/crypto/src/**/*.ts'],
    ignores: ['packages/crypto/src/node/**', 'packages/crypto/src/node.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          ...nodeBuiltins,
          paths: [
            { name: 'ts-mls', allowTypeImports: true, message: 'packages/crypto imports only ts-mls types.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/crypto/src/node/**', 'packages/crypto/src/node.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'ts-mls', allowTypeImports: true, message: 'packages/crypto imports only ts-mls types.' },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**', 'bench/**', '**/test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
