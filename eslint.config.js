// Lint rules: typescript-eslint's type-aware recommended set, plus a ban on `any`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const STORE_ONLY = 'belongs in a store module (*-store.ts) or db/ (ARCHITECTURE.md, "The database")';
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

/** Files that still hold SQL of their own; each moves it into a store and leaves this list. */
const SQL_NOT_YET_IN_A_STORE = [
  'apps/server/src/approvals/approvers-to-reach.ts',
  'apps/server/src/approvals/break-glass/create-break-glass.ts',
  'apps/server/src/approvals/break-glass/review-break-glass.ts',
  'apps/server/src/approvals/cancel-request.ts',
  'apps/server/src/approvals/check-auditor.ts',
  'apps/server/src/approvals/conclude-request.ts',
  'apps/server/src/approvals/create-request.ts',
  'apps/server/src/approvals/delegation/delegated-eligibility.ts',
  'apps/server/src/approvals/delegation/delegations.ts',
  'apps/server/src/approvals/expire-requests.ts',
  'apps/server/src/approvals/follow-up/escalate-request.ts',
  'apps/server/src/approvals/get-request.ts',
  'apps/server/src/approvals/grants.ts',
  'apps/server/src/approvals/list-requests.ts',
  'apps/server/src/approvals/outbox/card-outbox.ts',
  'apps/server/src/approvals/outbox/enqueue-verdict-callback.ts',
  'apps/server/src/approvals/outbox/retry-delivery.ts',
  'apps/server/src/approvals/policy/adopt-approved-proposal.ts',
  'apps/server/src/approvals/policy/establish-policy.ts',
  'apps/server/src/approvals/policy/list-policy-versions.ts',
  'apps/server/src/approvals/policy/policy-versions.ts',
  'apps/server/src/approvals/policy/propose-policy.ts',
  'apps/server/src/approvals/policy/record-policy-loaded.ts',
  'apps/server/src/approvals/read-request-view.ts',
  'apps/server/src/approvals/record-decision.ts',
  'apps/server/src/approvals/record-execution.ts',
  'apps/server/src/approvals/refuse-request.ts',
  'apps/server/src/approvals/request-rows.ts',
  'apps/server/src/approvals/view/present-with-receipt.ts',
  'apps/server/src/audit/append-event.ts',
  'apps/server/src/audit/create-checkpoint.ts',
  'apps/server/src/audit/event-key.ts',
  'apps/server/src/audit/evidence/build-evidence-pack.ts',
  'apps/server/src/audit/evidence/collect-evidence-events.ts',
  'apps/server/src/audit/report/generate-report.ts',
  'apps/server/src/audit/report/report-break-glass.ts',
  'apps/server/src/audit/report/report-delegations.ts',
  'apps/server/src/audit/report/report-grants-section.ts',
  'apps/server/src/audit/report/report-grants.ts',
  'apps/server/src/audit/report/report-rows.ts',
  'apps/server/src/audit/report/report-summary.ts',
  'apps/server/src/audit/report/report-verification.ts',
  'apps/server/src/audit/request-chain.ts',
  'apps/server/src/audit/verify-chain.ts',
  'apps/server/src/audit/verify-checkpoints.ts',
  'apps/server/src/audit/verify-requests.ts',
  'apps/server/src/audit/walk-in-workers.ts',
  'apps/server/src/http/routes/audit.verify.ts',
  'apps/server/src/http/routes/health.ts',
  'apps/server/src/http/routes/keys.events.ts',
  'apps/server/src/metrics/metrics.ts',
  'apps/server/src/metrics/tally-audit-events.ts',
  'apps/server/src/receipts/load-receipt-key.ts',
  'apps/server/src/receipts/load-receipt-public-keys.ts',
  'apps/server/src/web/read/list-waiting-requests.ts',
  'apps/server/src/web/read/load-audit-charts.ts',
  'apps/server/src/web/routes/audit-routes.ts',
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
      ...SQL_NOT_YET_IN_A_STORE,
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
