// Lint rules: typescript-eslint's type-aware recommended set, a ban on `any`, and where the
// database may be reached (SQL, the pg pool and writes only in store modules and db/).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const STORE_ONLY =
  'belongs in a store module (*-store.ts) or db/ (ARCHITECTURE.md, "Which database API where")';
const PRISMA_WRITES =
  '/^(create|createMany|createManyAndReturn|update|updateMany|updateManyAndReturn|upsert|delete|deleteMany)$/';
const DATABASE_ACCESS_OUTSIDE_A_STORE = [
  {
    selector:
      'MemberExpression[property.name=/^\\$(queryRaw|queryRawUnsafe|executeRaw|executeRawUnsafe|transaction)$/]',
    message: `Raw SQL and Prisma transactions: ${STORE_ONLY}.`,
  },
  { selector: "MemberExpression[property.name='pool']", message: `The pg pool ${STORE_ONLY}.` },
  { selector: "CallExpression[callee.property.name='query']", message: `A SQL statement ${STORE_ONLY}.` },
  { selector: "CallExpression[callee.name='runSql']", message: `A SQL statement ${STORE_ONLY}.` },
  {
    selector: `CallExpression[callee.property.name=${PRISMA_WRITES}][callee.object.object.name='prisma']`,
    message: `A write ${STORE_ONLY}.`,
  },
  {
    selector: `CallExpression[callee.property.name=${PRISMA_WRITES}][callee.object.object.property.name='prisma']`,
    message: `A write ${STORE_ONLY}.`,
  },
];

export default tseslint.config(
  {
    ignores: ['node_modules/', 'apps/server/src/generated/', 'apps/cli/dist/', '.countersign/', 'coverage/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Which database API goes where (ARCHITECTURE.md, "The database"): SQL, the pg pool and
    // transactions live in the store modules (`*-store.ts`) and `db/`; everything else calls a store
    // function, or Prisma for a read.
    files: ['apps/server/src/**/*.ts'],
    ignores: [
      'apps/server/src/**/*-store.ts',
      'apps/server/src/db/**',
      // pg-boss runs on the same pool and transactions: the job queue is infrastructure beside db/.
      'apps/server/src/jobs/**',
      'apps/server/src/**/*.test.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'pg', message: 'Only db/ and store modules (*-store.ts) talk to node-postgres.' }],
        },
      ],
      'no-restricted-syntax': ['error', ...DATABASE_ACCESS_OUTSIDE_A_STORE],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: globals.node,
    },
  },
);
