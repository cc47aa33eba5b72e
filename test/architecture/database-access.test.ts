// The rule "SQL, the pool and writes live in store modules and db/" (ARCHITECTURE.md, "Which
// database API where") is a lint rule: eslint refuses each kind of access in a use case and
// accepts the same code in a store.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const USE_CASE = 'apps/server/src/approvals/cancel-request.ts';
const STORE = 'apps/server/src/approvals/store/request-store.ts';

// The project's own config, with the type-aware rules off: this rule reads syntax only, and
// loading the TypeScript project for each snippet took seconds.
const eslint = new ESLint({ overrideConfig: [tseslint.configs.disableTypeChecked] });

async function refusals(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-syntax' || m.ruleId === 'no-restricted-imports')
    .map((m) => m.message);
}

const ACCESS: readonly [string, string][] = [
  [
    'a statement on the pool',
    `export const f = (db: { pool: { query(t: string): Promise<unknown> } }) => db.pool.query('SELECT 1');`,
  ],
  [
    'a statement on a transaction',
    `export const f = (tx: { query(t: string): Promise<unknown> }) => tx.query('SELECT 1');`,
  ],
  [
    'Prisma raw SQL',
    `export const f = (p: { $queryRawUnsafe(t: string): Promise<unknown> }) => p.$queryRawUnsafe('SELECT 1');`,
  ],
  [
    'a Prisma transaction',
    `export const f = (p: { $transaction(w: () => Promise<void>): Promise<void> }) => p.$transaction(async () => {});`,
  ],
  [
    'a Prisma write',
    `export const f = (db: { prisma: { apiKey: { update(a: object): Promise<unknown> } } }) => db.prisma.apiKey.update({});`,
  ],
  ['node-postgres itself', `import pg from 'pg';\nexport const f = () => new pg.Pool();`],
];

describe('database access outside a store', () => {
  it.each(ACCESS)('refuses %s in a use case', async (_what, code) => {
    expect((await refusals(USE_CASE, code)).length).toBeGreaterThan(0);
  });

  it.each(ACCESS)('accepts %s in a store', async (_what, code) => {
    expect(await refusals(STORE, code)).toEqual([]);
  });

  it('accepts a Prisma read in a use case', async () => {
    const code = `export const f = (db: { prisma: { apiKey: { findMany(): Promise<unknown> } } }) => db.prisma.apiKey.findMany();`;
    expect(await refusals(USE_CASE, code)).toEqual([]);
  });
});
