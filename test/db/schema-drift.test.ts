// schema.prisma is the source of truth; the SQL in prisma/migrations is written by hand (Prisma's
// schema engine cannot run offline). This test fails when the migrated database and the Prisma
// datamodel drift apart, listing every difference.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../apps/server/src/db/migrate.ts';
import { silentLogger } from '../support/logging.ts';
import {
  compareSchemaToDatabase,
  formatDifferences,
  loadDmmf,
  type Dmmf,
  type DmmfModel,
} from '../support/schema-compare.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

function model(dmmf: Dmmf, name: string): DmmfModel {
  const found = dmmf.datamodel.models.find((m) => m.name === name);
  if (!found) throw new Error(`schema.prisma has no model ${name}`);
  return found;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

describe('schema.prisma vs the migrated database', { timeout: 180_000 }, () => {
  let dmmf: Dmmf;
  let database: TestDatabase | undefined;
  let client: pg.Client | undefined;

  beforeAll(async () => {
    dmmf = await loadDmmf();
    database = await createTestDatabase();
    await migrate(database.url, silentLogger());
    client = await connect(database.url);
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  function db(): pg.Client {
    if (!client) throw new Error('database not set up');
    return client;
  }

  it('has no drift: tables, columns, types, nullability, defaults, enums, keys and indexes all agree', async () => {
    const differences = await compareSchemaToDatabase(dmmf, db());
    expect(differences, formatDifferences(differences)).toEqual([]);
  });

  it('reads what it compares: the catalog really has the types, enums and indexes the schema describes', async () => {
    // Guards the comparison itself: if the catalog queries came back empty, "no differences"
    // would mean nothing.
    const { rows } = await db().query<{ column: string; type: string }>(
      `SELECT column_name AS "column",
              CASE WHEN data_type = 'USER-DEFINED' THEN udt_name
                   WHEN data_type = 'ARRAY' THEN udt_name
                   WHEN datetime_precision IS NOT NULL THEN data_type || '(' || datetime_precision || ')'
                   ELSE data_type END AS "type"
         FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'approval_requests'`,
    );
    const types = Object.fromEntries(rows.map((r) => [r.column, r.type]));
    expect(types).toMatchObject({
      id: 'uuid',
      status: 'ApprovalStatus',
      context: 'jsonb',
      approvers: '_text',
      quorum: 'integer',
      created_at: 'timestamp with time zone(3)',
    });
    const seq = await db().query<{ type: string }>(
      `SELECT data_type AS "type" FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'audit_events' AND column_name = 'seq'`,
    );
    expect(seq.rows[0]?.type).toBe('bigint');
  });

  describe('reports drift (the comparison can fail)', () => {
    it('names a column the schema no longer describes, a changed nullability, type and default', async () => {
      const mutated = structuredClone(dmmf);
      const apiKey = model(mutated, 'ApiKey');
      apiKey.fields = apiKey.fields.filter((f) => f.name !== 'prefix');
      const name = apiKey.fields.find((f) => f.name === 'name');
      if (!name) throw new Error('ApiKey.name not found');
      name.isRequired = false;
      const request = model(mutated, 'ApprovalRequest');
      const quorum = request.fields.find((f) => f.name === 'quorum');
      if (!quorum) throw new Error('ApprovalRequest.quorum not found');
      quorum.type = 'BigInt';
      const denyQuorum = request.fields.find((f) => f.name === 'denyQuorum');
      if (!denyQuorum) throw new Error('ApprovalRequest.denyQuorum not found');
      denyQuorum.default = 2;

      const differences = await compareSchemaToDatabase(mutated, db());
      expect(differences).toEqual(
        expect.arrayContaining([
          'column "api_keys"."prefix": in the database (text) but not in schema.prisma',
          'column "api_keys"."name": NOT NULL in the database, schema.prisma expects nullable',
          'column "approval_requests"."quorum": type is integer in the database, schema.prisma expects bigint',
          'column "approval_requests"."deny_quorum": default is 1 in the database, schema.prisma expects 2',
        ]),
      );
      expect(differences).toHaveLength(4);
      expect(formatDifferences(differences)).toContain('differ in 4 place(s)');
    });

    it('names enum labels, indexes, primary keys and foreign keys that differ', async () => {
      const mutated = structuredClone(dmmf);
      const status = mutated.datamodel.enums.find((e) => e.name === 'ApprovalStatus');
      if (!status) throw new Error('enum ApprovalStatus not found');
      status.values.push({ name: 'escalated', dbName: null });
      mutated.datamodel.indexes = mutated.datamodel.indexes.filter(
        (i) => !(i.model === 'AuditEvent' && i.type === 'normal' && i.fields[0]?.name === 'occurredAt'),
      );
      mutated.datamodel.indexes.push({ model: 'Decision', type: 'normal', fields: [{ name: 'platform' }] });
      const pk = mutated.datamodel.indexes.find((i) => i.model === 'Client' && i.type === 'id');
      if (!pk) throw new Error('Client primary key not found');
      pk.dbName = 'clients_primary';
      const relation = model(mutated, 'Decision').fields.find((f) => f.name === 'request');
      if (!relation) throw new Error('Decision.request not found');
      relation.relationOnDelete = 'Cascade';

      const differences = await compareSchemaToDatabase(mutated, db());
      expect(differences).toEqual(
        expect.arrayContaining([
          `enum "ApprovalStatus": value 'escalated' missing from the database`,
          'index "audit_events_occurred_at_idx" on "audit_events": btree (occurred_at) in the database but not in schema.prisma',
          'index "decisions_platform_idx" on "decisions": btree (platform) in schema.prisma but missing from the database',
          'table "clients": primary key is named clients_pkey in the database, schema.prisma expects clients_primary',
          'foreign key "decisions_request_id_fkey" on "decisions": is (request_id) → approval_requests(id) ' +
            'ON DELETE RESTRICT ON UPDATE CASCADE in the database, schema.prisma expects (request_id) → ' +
            'approval_requests(id) ON DELETE CASCADE ON UPDATE CASCADE',
        ]),
      );
      expect(differences).toHaveLength(5);
    });

    it('names a column, an index and a table added to the database by hand (separate database)', async () => {
      const other = await createTestDatabase();
      try {
        await migrate(other.url, silentLogger());
        const otherClient = await connect(other.url);
        try {
          await otherClient.query(
            `ALTER TABLE "api_keys" ADD COLUMN "note" VARCHAR(40) NOT NULL DEFAULT 'x'`,
          );
          await otherClient.query(`CREATE INDEX "clients_name_idx" ON "clients" ("name")`);
          await otherClient.query(`CREATE TABLE "scratch" ("id" INTEGER PRIMARY KEY)`);
          await otherClient.query(`ALTER TABLE "decisions" ALTER COLUMN "reason" SET NOT NULL`);

          const differences = await compareSchemaToDatabase(dmmf, otherClient);
          expect(differences).toEqual([
            'column "api_keys"."note": in the database (character varying(40)) but not in schema.prisma',
            'index "clients_name_idx" on "clients": btree (name) in the database but not in schema.prisma',
            'column "decisions"."reason": NOT NULL in the database, schema.prisma expects nullable',
            'table "scratch": in the database but not in schema.prisma',
          ]);
        } finally {
          await otherClient.end();
        }
      } finally {
        await other.drop();
      }
      // The database under the main test is untouched by all this.
      expect(await compareSchemaToDatabase(dmmf, db())).toEqual([]);
    });
  });
});
