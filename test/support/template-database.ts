// Vitest global set-up: migrates one template database per run on the server DATABASE_URL points
// at, so that each test file's database is a copy of it (`CREATE DATABASE … TEMPLATE`) instead of
// an empty database migrated again. Without DATABASE_URL (embedded PGlite) there is nothing to do.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../apps/server/src/db/migrate.ts';
import { silentLogger } from './logging.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated template's name, or null when tests run on embedded PGlite. */
    templateDatabase: string | null;
  }
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = process.env['DATABASE_URL'];
  if (!adminUrl) {
    project.provide('templateDatabase', null);
    return async () => {};
  }
  const name = `countersign_template_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString(), silentLogger());
  project.provide('templateDatabase', name);
  return async () => {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
}
