// Lint rules. Type-aware rules catch the mistakes that matter most in async crypto code
// (a forgotten await silently skips a check); the import restrictions keep the layering of
// DESIGN.md true: node: built-ins only in apps, the server and the node entry points of
// crypto; ts-mls at run time only in packages/protocol; the server never imports the
// protocol package (it relays ciphertext and never holds a group secret); product code
// (packages/*/src, apps/*/src) never imports the test kit, which is for tests only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noNodeBuiltins = {
  group: ['node:*'],
  message: 'node: built-ins belong in apps, the server and node entry points.',
};
const tsMlsTypesOnly = {
  name: 'ts-mls',
  allowTypeImports: true,
  message: 'only packages/protocol uses ts-mls at run time.',
};
const noTsMls = { name: 'ts-mls', message: 'only packages/protocol uses ts-mls.' };
// The release as published, without patches/: for negative controls in tests only.
const noUnpatchedMls = { name: 'ts-mls-unpatched', message: 'the unpatched ts-mls is for tests only.' };
const noProtocol = {
  name: '@ghostproof/protocol',
  message: 'the server relays ciphertext and never imports the protocol package.',
};

const noTestkit = {
  group: ['@ghostproof/testkit', '@ghostproof/testkit/*'],
  message: 'the test kit is for tests; product code never imports it.',
};

// Every product source file gets exactly one of these (a later block would replace, not add
// to, an earlier one's list), and each carries noTestkit.
function restrict(files, { ignores = [], paths = [], patterns = [] }) {
  const rule = ['error', { paths, patterns: [...patterns, noTestkit] }];
  return { files, ignores, rules: { 'no-restricted-imports': rule } };
}

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      'bench/results/**',
      'bench/.yardstick/**',
      'data/**',
      '**/dist/**',
      '**/gen/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'apps/*/bin/*.mjs'] },
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
  restrict(['packages/crypto/src/**/*.ts'], {
    ignores: ['packages/crypto/src/node/**', 'packages/crypto/src/node.ts'],
    paths: [tsMlsTypesOnly, noUnpatchedMls],
    patterns: [noNodeBuiltins],
  }),
  restrict(['packages/crypto/src/node/**', 'packages/crypto/src/node.ts'], {
    paths: [tsMlsTypesOnly, noUnpatchedMls],
  }),
  restrict(['packages/protocol/src/**/*.ts'], { paths: [noUnpatchedMls], patterns: [noNodeBuiltins] }),
  restrict(['packages/kt/src/**/*.ts', 'packages/api/src/**/*.ts'], {
    paths: [noTsMls, noUnpatchedMls],
    patterns: [noNodeBuiltins],
  }),
  restrict(['packages/server/src/**/*.ts'], { paths: [noTsMls, noProtocol, noUnpatchedMls] }),
  restrict(['packages/client/src/**/*.ts'], {
    ignores: ['packages/client/src/node/**', 'packages/client/src/node.ts'],
    paths: [noTsMls, noUnpatchedMls],
    patterns: [noNodeBuiltins],
  }),
  restrict(['packages/client/src/node/**', 'packages/client/src/node.ts', 'apps/*/src/**/*.ts'], {
    paths: [noUnpatchedMls],
  }),
  {
    files: ['scripts/**', 'bench/**', '**/test/**', 'apps/cli/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['scripts/**/*.mjs', 'apps/*/bin/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
