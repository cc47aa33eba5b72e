// Compares the Prisma datamodel (DMMF of prisma/schema.prisma) with the schema of a migrated
// Postgres database read from pg_catalog. Both sides are first reduced to the same plain shape
// (tables → columns, primary keys, indexes, foreign keys; enums → labels); the comparison is a
// list of human-readable differences, empty when the two agree.
//
// The expectations follow what `prisma migrate dev` itself generates for PostgreSQL:
//   - scalar lists are nullable columns (`TEXT[]`, no NOT NULL), whatever the `?`;
//   - uuid()/cuid()/nanoid()/ulid() defaults live in Prisma Client, not in the database;
//   - autoincrement() is a sequence default, now() is CURRENT_TIMESTAMP;
//   - constraint and index names default to {table}_{columns}_{pkey|key|idx|fkey};
//   - a relation without onDelete is RESTRICT when required and SET NULL when optional, and
//     onUpdate defaults to CASCADE.
// Limitation: the DMMF does not carry `@relation(map: ...)`, so foreign keys are expected under
// their default names; a schema that renames one would need this helper taught about it.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import type pg from 'pg';
import { z } from 'zod';

export const SCHEMA_PATH = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url));

/**
 * Partial indexes, which schema.prisma cannot express, by name with the definition Postgres reports
 * (pg_get_indexdef, schema name left out). They are compared here instead of through the DMMF.
 */
export const PARTIAL_INDEXES: Record<string, string> = {
  chat_cards_pending_idx:
    'CREATE INDEX chat_cards_pending_idx ON chat_cards USING btree (channel, id) WHERE (shown_version < version)',
  audit_events_checkpoint_seq_idx:
    "CREATE INDEX audit_events_checkpoint_seq_idx ON audit_events USING btree (seq) WHERE (type = 'audit.checkpoint'::text)",
  audit_events_directory_user_seq_idx:
    "CREATE INDEX audit_events_directory_user_seq_idx ON audit_events USING btree (seq) WHERE (type = ANY (ARRAY['directory.user.deactivated'::text, 'directory.user.removed'::text, 'directory.user.reactivated'::text, 'directory.user.created'::text]))",
};

/** Tables the schema does not describe on purpose. */
const IGNORED_TABLES = new Set(['_prisma_migrations']);

/** Postgres truncates identifiers to 63 bytes; Prisma shortens default names to fit. */
const MAX_IDENTIFIER_LENGTH = 63;

// ---------------------------------------------------------------------------------------------
// DMMF (only the parts the comparison reads; anything else is passed through untouched)

const nativeTypeSchema = z
  .tuple([z.string(), z.array(z.string())])
  .nullable()
  .optional();

const dmmfFieldSchema = z.looseObject({
  name: z.string(),
  dbName: z.string().nullable().optional(),
  kind: z.enum(['scalar', 'object', 'enum', 'unsupported']),
  type: z.string(),
  isList: z.boolean(),
  isRequired: z.boolean(),
  isId: z.boolean().optional(),
  isUnique: z.boolean().optional(),
  nativeType: nativeTypeSchema,
  hasDefaultValue: z.boolean(),
  default: z.unknown().optional(),
  relationFromFields: z.array(z.string()).optional(),
  relationToFields: z.array(z.string()).optional(),
  relationOnDelete: z.string().nullable().optional(),
  relationOnUpdate: z.string().nullable().optional(),
});

const dmmfModelSchema = z.looseObject({
  name: z.string(),
  dbName: z.string().nullable().optional(),
  schema: z.string().nullable().optional(),
  fields: z.array(dmmfFieldSchema),
});

const dmmfEnumSchema = z.looseObject({
  name: z.string(),
  dbName: z.string().nullable().optional(),
  values: z.array(z.looseObject({ name: z.string(), dbName: z.string().nullable().optional() })),
});

const dmmfIndexSchema = z.looseObject({
  model: z.string(),
  type: z.enum(['id', 'unique', 'normal', 'fulltext']),
  dbName: z.string().nullable().optional(),
  algorithm: z.string().nullable().optional(),
  fields: z.array(
    z.looseObject({ name: z.string(), sortOrder: z.enum(['asc', 'desc']).nullable().optional() }),
  ),
});

const dmmfSchema = z.looseObject({
  datamodel: z.looseObject({
    models: z.array(dmmfModelSchema),
    enums: z.array(dmmfEnumSchema),
    indexes: z.array(dmmfIndexSchema),
  }),
});

export type Dmmf = z.infer<typeof dmmfSchema>;
export type DmmfModel = z.infer<typeof dmmfModelSchema>;
export type DmmfField = z.infer<typeof dmmfFieldSchema>;

export function parseDmmf(schemaText: string): Dmmf {
  const raw: unknown = JSON.parse(
    get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', schemaText]] })),
  );
  return dmmfSchema.parse(raw);
}

export async function loadDmmf(path: string = SCHEMA_PATH): Promise<Dmmf> {
  return parseDmmf(await readFile(path, 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// The shape both sides are reduced to

export interface ColumnShape {
  /** e.g. `uuid`, `timestamp(3) with time zone`, `text[]`, `enum "ApprovalStatus"`. */
  type: string;
  nullable: boolean;
  /** Normalised default (`now()`, `autoincrement()`, `'pending'`, `1`), or null for none. */
  default: string | null;
}

export interface PrimaryKeyShape {
  name: string;
  columns: string[];
}

export interface IndexShape {
  unique: boolean;
  method: string;
  /** Column names in order, with ` DESC` for descending keys. */
  columns: string[];
}

export interface ForeignKeyShape {
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}

export interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: PrimaryKeyShape | null;
  /** By index name; primary keys are not listed here. */
  indexes: Record<string, IndexShape>;
  /** By constraint name. */
  foreignKeys: Record<string, ForeignKeyShape>;
}

export interface SchemaShape {
  tables: Record<string, TableShape>;
  /** Enum type name → labels. */
  enums: Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------------
// Expected shape, from the DMMF

const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** Prisma native type attribute (`@db.X(args)`) → Postgres `format_type` spelling. */
function nativeTypeName(name: string, args: string[]): string | undefined {
  const p = args.length ? `(${args.join(',')})` : '';
  switch (name) {
    case 'Uuid':
      return 'uuid';
    case 'Text':
      return 'text';
    case 'VarChar':
      return `character varying${p}`;
    case 'Char':
      return `character${p}`;
    case 'Citext':
      return 'citext';
    case 'Inet':
      return 'inet';
    case 'Xml':
      return 'xml';
    case 'Bit':
      return `bit${p}`;
    case 'VarBit':
      return `bit varying${p}`;
    case 'SmallInt':
      return 'smallint';
    case 'Integer':
      return 'integer';
    case 'BigInt':
      return 'bigint';
    case 'Oid':
      return 'oid';
    case 'Real':
      return 'real';
    case 'DoublePrecision':
      return 'double precision';
    case 'Decimal':
      return `numeric${p}`;
    case 'Money':
      return 'money';
    case 'Boolean':
      return 'boolean';
    case 'Timestamp':
      return `timestamp${p} without time zone`;
    case 'Timestamptz':
      return `timestamp${p} with time zone`;
    case 'Date':
      return 'date';
    case 'Time':
      return `time${p} without time zone`;
    case 'Timetz':
      return `time${p} with time zone`;
    case 'Json':
      return 'json';
    case 'JsonB':
      return 'jsonb';
    case 'ByteA':
      return 'bytea';
    default:
      return undefined;
  }
}

function sqlLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const CLIENT_SIDE_DEFAULTS = new Set(['uuid', 'cuid', 'nanoid', 'ulid']);

/** `@default(dbgenerated())` without an expression: some database default, whichever. */
const ANY_DEFAULT = 'dbgenerated()';

const functionDefaultSchema = z.object({ name: z.string(), args: z.array(z.unknown()) });

/** The database default Prisma Migrate would create for a field, normalised; undefined if unknown. */
function expectedDefault(field: DmmfField): string | null | undefined {
  if (!field.hasDefaultValue) return null;
  const value = field.default;
  const fn = functionDefaultSchema.safeParse(value);
  if (fn.success) {
    const { name, args } = fn.data;
    if (CLIENT_SIDE_DEFAULTS.has(name)) return null;
    if (name === 'autoincrement') return 'autoincrement()';
    if (name === 'now') return 'now()';
    if (name === 'dbgenerated') return typeof args[0] === 'string' ? normaliseDefault(args[0]) : ANY_DEFAULT;
    return undefined;
  }
  if (typeof value === 'string') return sqlLiteral(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Brings a `pg_get_expr` default and an expected one to one spelling. */
export function normaliseDefault(expression: string): string {
  const expr = expression.trim();
  if (/^nextval\('[^']+'::regclass\)$/.test(expr)) return 'autoincrement()';
  if (/^(CURRENT_TIMESTAMP|now\(\))$/i.test(expr)) return 'now()';
  // 'pending'::"ApprovalStatus", '{}'::jsonb, 'x'::text → the literal alone
  const cast = /^('(?:[^']|'')*')::[\w" ]+(\[\])?$/.exec(expr);
  if (cast?.[1]) return cast[1];
  // (1)::bigint, 1 → 1
  const number = /^\(?(-?\d+(?:\.\d+)?)\)?(::[\w ]+)?$/.exec(expr);
  if (number?.[1]) return number[1];
  return expr;
}

function defaultName(table: string, columns: string[], suffix: string): string {
  const joined = [table, ...columns].join('_');
  const room = MAX_IDENTIFIER_LENGTH - suffix.length - 1;
  return `${joined.length > room ? joined.slice(0, room) : joined}_${suffix}`;
}

function columnName(field: DmmfField): string {
  return field.dbName ?? field.name;
}

function tableName(model: DmmfModel): string {
  return model.dbName ?? model.name;
}

export interface ExpectedSchema {
  shape: SchemaShape;
  /** Things the DMMF says that this helper cannot translate; reported as differences. */
  unsupported: string[];
}

export function expectedSchemaFromDmmf(dmmf: Dmmf): ExpectedSchema {
  const unsupported: string[] = [];
  const { models, enums, indexes } = dmmf.datamodel;
  const enumDbNames = new Map(enums.map((e) => [e.name, e.dbName ?? e.name]));
  const modelsByName = new Map(models.map((m) => [m.name, m]));
  const tables: Record<string, TableShape> = {};

  for (const model of models) {
    const table = tableName(model);
    if (model.schema) unsupported.push(`model ${model.name}: multi-schema models are not supported here`);
    const fieldsByName = new Map(model.fields.map((f) => [f.name, f]));
    const col = (fieldName: string): string => {
      const field = fieldsByName.get(fieldName);
      if (!field) {
        unsupported.push(`model ${model.name}: index or relation names unknown field ${fieldName}`);
        return fieldName;
      }
      return columnName(field);
    };

    const columns: Record<string, ColumnShape> = {};
    for (const field of model.fields) {
      if (field.kind === 'object') continue;
      const where = `column "${table}"."${columnName(field)}"`;
      let base: string | undefined;
      if (field.kind === 'enum') {
        base = `enum "${enumDbNames.get(field.type) ?? field.type}"`;
      } else if (field.kind === 'unsupported') {
        unsupported.push(`${where}: Unsupported("${field.type}") types are not compared`);
        continue;
      } else if (field.nativeType) {
        base = nativeTypeName(field.nativeType[0], field.nativeType[1]);
        if (!base) unsupported.push(`${where}: native type @db.${field.nativeType[0]} is not known here`);
      } else {
        base = SCALAR_TYPES[field.type];
        if (!base) unsupported.push(`${where}: Prisma type ${field.type} is not known here`);
      }
      const def = expectedDefault(field);
      if (def === undefined) {
        unsupported.push(`${where}: default ${JSON.stringify(field.default)} is not known here`);
      }
      columns[columnName(field)] = {
        type: `${base ?? `unknown ${field.type}`}${field.isList ? '[]' : ''}`,
        // Prisma Migrate creates scalar lists without NOT NULL.
        nullable: field.isList || !field.isRequired,
        default: def ?? null,
      };
    }

    const foreignKeys: Record<string, ForeignKeyShape> = {};
    for (const field of model.fields) {
      if (field.kind !== 'object' || !field.relationFromFields?.length) continue;
      const target = modelsByName.get(field.type);
      if (!target) {
        unsupported.push(`model ${model.name}: relation ${field.name} points at unknown model ${field.type}`);
        continue;
      }
      const targetFields = new Map(target.fields.map((f) => [f.name, f]));
      const fkColumns = field.relationFromFields.map(col);
      const fromFieldsRequired = field.relationFromFields.every((f) => fieldsByName.get(f)?.isRequired);
      foreignKeys[defaultName(table, fkColumns, 'fkey')] = {
        columns: fkColumns,
        referencedTable: tableName(target),
        referencedColumns: (field.relationToFields ?? []).map((f) => {
          const t = targetFields.get(f);
          return t ? columnName(t) : f;
        }),
        onDelete: referentialAction(field.relationOnDelete ?? (fromFieldsRequired ? 'Restrict' : 'SetNull')),
        onUpdate: referentialAction(field.relationOnUpdate ?? 'Cascade'),
      };
    }

    tables[table] = { columns, primaryKey: null, indexes: {}, foreignKeys };
  }

  for (const index of indexes) {
    const model = modelsByName.get(index.model);
    const table = model ? tables[tableName(model)] : undefined;
    if (!model || !table) {
      unsupported.push(`index on unknown model ${index.model}`);
      continue;
    }
    const fields = new Map(model.fields.map((f) => [f.name, f]));
    const columns = index.fields.map((f) => {
      const field = fields.get(f.name);
      return field ? columnName(field) : f.name;
    });
    const keys = index.fields.map(
      (f, i) => `${columns[i] ?? f.name}${f.sortOrder === 'desc' ? ' DESC' : ''}`,
    );
    const tbl = tableName(model);
    if (index.type === 'id') {
      table.primaryKey = { name: index.dbName ?? `${tbl}_pkey`, columns };
    } else if (index.type === 'fulltext') {
      unsupported.push(`model ${model.name}: fulltext indexes are not supported on PostgreSQL`);
    } else {
      const unique = index.type === 'unique';
      table.indexes[index.dbName ?? defaultName(tbl, columns, unique ? 'key' : 'idx')] = {
        unique,
        method: (index.algorithm ?? 'BTree').toLowerCase(),
        columns: keys,
      };
    }
  }

  const enumShapes: Record<string, string[]> = {};
  for (const e of enums) enumShapes[e.dbName ?? e.name] = e.values.map((v) => v.dbName ?? v.name);

  return { shape: { tables, enums: enumShapes }, unsupported };
}

function referentialAction(action: string): string {
  const map: Record<string, string> = {
    Cascade: 'CASCADE',
    Restrict: 'RESTRICT',
    NoAction: 'NO ACTION',
    SetNull: 'SET NULL',
    SetDefault: 'SET DEFAULT',
  };
  return map[action] ?? `unknown action ${action}`;
}

// ---------------------------------------------------------------------------------------------
// Actual shape, from the database catalog (the current schema, normally `public`)

const PG_ACTIONS: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

function unquote(identifier: string): string {
  return identifier.startsWith('"') && identifier.endsWith('"')
    ? identifier.slice(1, -1).replaceAll('""', '"')
    : identifier;
}

export async function readDatabaseSchema(client: pg.ClientBase): Promise<SchemaShape> {
  const tables: Record<string, TableShape> = {};
  const tableOf = (name: string): TableShape | undefined => tables[name];

  const tableRows = await client.query<{ table: string }>(
    `SELECT c.relname AS "table"
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`,
  );
  for (const { table } of tableRows.rows) {
    if (!IGNORED_TABLES.has(table))
      tables[table] = { columns: {}, primaryKey: null, indexes: {}, foreignKeys: {} };
  }

  const columnRows = await client.query<{
    table: string;
    column: string;
    type: string;
    enum_name: string | null;
    is_array: boolean;
    not_null: boolean;
    default: string | null;
  }>(
    `SELECT c.relname AS "table", a.attname AS "column",
            format_type(a.atttypid, a.atttypmod) AS "type",
            CASE WHEN t.typtype = 'e' THEN t.typname
                 WHEN et.typtype = 'e' THEN et.typname END AS enum_name,
            t.typcategory = 'A' AS is_array,
            a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS "default"
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
        AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
  );
  for (const row of columnRows.rows) {
    const table = tableOf(row.table);
    if (!table) continue;
    const type = row.enum_name ? `enum "${row.enum_name}"${row.is_array ? '[]' : ''}` : row.type;
    table.columns[row.column] = {
      type,
      nullable: !row.not_null,
      default: row.default === null ? null : normaliseDefault(row.default),
    };
  }

  const pkRows = await client.query<{ table: string; name: string; columns: string[] }>(
    `SELECT c.relname AS "table", con.conname AS name,
            array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                   ORDER BY k.ord)::text[] AS columns
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND con.contype = 'p'`,
  );
  for (const row of pkRows.rows) {
    const table = tableOf(row.table);
    if (table) table.primaryKey = { name: row.name, columns: row.columns };
  }

  const indexRows = await client.query<{
    table: string;
    name: string;
    unique: boolean;
    method: string;
    columns: string[];
  }>(
    `SELECT tc.relname AS "table", ic.relname AS name, i.indisunique AS "unique", am.amname AS method,
            array(SELECT pg_get_indexdef(i.indexrelid, k, true)
                         || CASE WHEN (i.indoption[k - 1]::int & 1) = 1 THEN ' DESC' ELSE '' END
                    FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k)::text[] AS columns
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class tc ON tc.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = tc.relnamespace
       JOIN pg_am am ON am.oid = ic.relam
      WHERE n.nspname = current_schema() AND NOT i.indisprimary AND i.indpred IS NULL`,
  );
  for (const row of indexRows.rows) {
    const table = tableOf(row.table);
    if (!table) continue;
    table.indexes[row.name] = {
      unique: row.unique,
      method: row.method,
      columns: row.columns.map((c) => {
        const desc = c.endsWith(' DESC');
        return `${unquote(desc ? c.slice(0, -5) : c)}${desc ? ' DESC' : ''}`;
      }),
    };
  }

  const fkRows = await client.query<{
    table: string;
    name: string;
    columns: string[];
    referenced_table: string;
    referenced_columns: string[];
    on_delete: string;
    on_update: string;
  }>(
    `SELECT c.relname AS "table", con.conname AS name,
            array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                   ORDER BY k.ord)::text[] AS columns,
            rc.relname AS referenced_table,
            array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                   ORDER BY k.ord)::text[] AS referenced_columns,
            con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_class rc ON rc.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND con.contype = 'f'`,
  );
  for (const row of fkRows.rows) {
    const table = tableOf(row.table);
    if (!table) continue;
    table.foreignKeys[row.name] = {
      columns: row.columns,
      referencedTable: row.referenced_table,
      referencedColumns: row.referenced_columns,
      onDelete: PG_ACTIONS[row.on_delete] ?? row.on_delete,
      onUpdate: PG_ACTIONS[row.on_update] ?? row.on_update,
    };
  }

  const enumRows = await client.query<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name,
            array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = current_schema() AND t.typtype = 'e'`,
  );
  const enums: Record<string, string[]> = {};
  for (const row of enumRows.rows) enums[row.name] = row.labels;

  return { tables, enums };
}

// ---------------------------------------------------------------------------------------------
// The comparison

const SCHEMA = 'schema.prisma';
const DB = 'the database';

function describeColumns(columns: string[]): string {
  return `(${columns.join(', ')})`;
}

function describeIndex(index: IndexShape): string {
  return `${index.unique ? 'unique ' : ''}${index.method} ${describeColumns(index.columns)}`;
}

function describeForeignKey(fk: ForeignKeyShape): string {
  return (
    `${describeColumns(fk.columns)} → ${fk.referencedTable}${describeColumns(fk.referencedColumns)} ` +
    `ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`
  );
}

function sortedKeys(...records: Record<string, unknown>[]): string[] {
  return [...new Set(records.flatMap((r) => Object.keys(r)))].sort();
}

/** Differences between what schema.prisma describes (`expected`) and what the database has (`actual`). */
export function diffSchemas(expected: SchemaShape, actual: SchemaShape): string[] {
  const out: string[] = [];

  for (const name of sortedKeys(expected.enums, actual.enums)) {
    const want = expected.enums[name];
    const have = actual.enums[name];
    if (!have) {
      out.push(`enum "${name}": in ${SCHEMA} but missing from ${DB}`);
      continue;
    }
    if (!want) {
      out.push(`enum "${name}": in ${DB} but not in ${SCHEMA}`);
      continue;
    }
    // Prisma Migrate does not treat label order as drift, so neither does this.
    for (const label of want) {
      if (!have.includes(label)) out.push(`enum "${name}": value '${label}' missing from ${DB}`);
    }
    for (const label of have) {
      if (!want.includes(label)) out.push(`enum "${name}": value '${label}' in ${DB} but not in ${SCHEMA}`);
    }
  }

  for (const tableName of sortedKeys(expected.tables, actual.tables)) {
    const want = expected.tables[tableName];
    const have = actual.tables[tableName];
    if (!have) {
      out.push(`table "${tableName}": in ${SCHEMA} but missing from ${DB}`);
      continue;
    }
    if (!want) {
      out.push(`table "${tableName}": in ${DB} but not in ${SCHEMA}`);
      continue;
    }

    for (const columnName of sortedKeys(want.columns, have.columns)) {
      const where = `column "${tableName}"."${columnName}"`;
      const w = want.columns[columnName];
      const h = have.columns[columnName];
      if (!h) {
        out.push(`${where}: in ${SCHEMA} but missing from ${DB}`);
        continue;
      }
      if (!w) {
        out.push(`${where}: in ${DB} (${h.type}) but not in ${SCHEMA}`);
        continue;
      }
      if (w.type !== h.type) out.push(`${where}: type is ${h.type} in ${DB}, ${SCHEMA} expects ${w.type}`);
      if (w.nullable !== h.nullable) {
        out.push(
          `${where}: ${h.nullable ? 'nullable' : 'NOT NULL'} in ${DB}, ` +
            `${SCHEMA} expects ${w.nullable ? 'nullable' : 'NOT NULL'}`,
        );
      }
      if (w.default !== h.default && !(w.default === ANY_DEFAULT && h.default !== null)) {
        out.push(
          `${where}: default is ${h.default ?? 'none'} in ${DB}, ${SCHEMA} expects ${w.default ?? 'none'}`,
        );
      }
    }

    const wpk = want.primaryKey;
    const hpk = have.primaryKey;
    if (!wpk && hpk) out.push(`table "${tableName}": primary key ${hpk.name} in ${DB} but not in ${SCHEMA}`);
    else if (wpk && !hpk) out.push(`table "${tableName}": primary key missing from ${DB}`);
    else if (wpk && hpk) {
      if (wpk.name !== hpk.name) {
        out.push(
          `table "${tableName}": primary key is named ${hpk.name} in ${DB}, ${SCHEMA} expects ${wpk.name}`,
        );
      }
      if (wpk.columns.join() !== hpk.columns.join()) {
        out.push(
          `table "${tableName}": primary key is ${describeColumns(hpk.columns)} in ${DB}, ` +
            `${SCHEMA} expects ${describeColumns(wpk.columns)}`,
        );
      }
    }

    for (const indexName of sortedKeys(want.indexes, have.indexes)) {
      const where = `index "${indexName}" on "${tableName}"`;
      const w = want.indexes[indexName];
      const h = have.indexes[indexName];
      if (!h && w) out.push(`${where}: ${describeIndex(w)} in ${SCHEMA} but missing from ${DB}`);
      else if (h && !w) out.push(`${where}: ${describeIndex(h)} in ${DB} but not in ${SCHEMA}`);
      else if (h && w && describeIndex(h) !== describeIndex(w)) {
        out.push(`${where}: is ${describeIndex(h)} in ${DB}, ${SCHEMA} expects ${describeIndex(w)}`);
      }
    }

    for (const fkName of sortedKeys(want.foreignKeys, have.foreignKeys)) {
      const where = `foreign key "${fkName}" on "${tableName}"`;
      const w = want.foreignKeys[fkName];
      const h = have.foreignKeys[fkName];
      if (!h && w) out.push(`${where}: ${describeForeignKey(w)} in ${SCHEMA} but missing from ${DB}`);
      else if (h && !w) out.push(`${where}: ${describeForeignKey(h)} in ${DB} but not in ${SCHEMA}`);
      else if (h && w && describeForeignKey(h) !== describeForeignKey(w)) {
        out.push(
          `${where}: is ${describeForeignKey(h)} in ${DB}, ${SCHEMA} expects ${describeForeignKey(w)}`,
        );
      }
    }
  }
  return out;
}

/** Every difference between the datamodel and the database `client` is connected to. */
/** Partial indexes in the database against PARTIAL_INDEXES: missing, unexpected or different. */
export async function diffPartialIndexes(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT ic.relname AS name,
            regexp_replace(pg_get_indexdef(i.indexrelid), ' ON [^ ]+\\.', ' ON ') AS definition
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname = current_schema() AND i.indpred IS NOT NULL`,
  );
  const actual = new Map(rows.map((row) => [row.name, row.definition]));
  const out: string[] = [];
  for (const name of sortedKeys(PARTIAL_INDEXES, Object.fromEntries(actual))) {
    const want = PARTIAL_INDEXES[name];
    const have = actual.get(name);
    if (!have) out.push(`partial index "${name}": expected but missing from ${DB}`);
    else if (!want) out.push(`partial index "${name}": in ${DB} but not in PARTIAL_INDEXES: ${have}`);
    else if (want !== have) out.push(`partial index "${name}": ${DB} has ${have}, expected ${want}`);
  }
  return out;
}

export async function compareSchemaToDatabase(dmmf: Dmmf, client: pg.ClientBase): Promise<string[]> {
  const expected = expectedSchemaFromDmmf(dmmf);
  const actual = await readDatabaseSchema(client);
  return [
    ...expected.unsupported.map((u) => `cannot compare: ${u}`),
    ...diffSchemas(expected.shape, actual),
    ...(await diffPartialIndexes(client)),
  ];
}

export function formatDifferences(differences: string[]): string {
  return differences.length === 0
    ? 'schema.prisma and the migrated database agree'
    : `schema.prisma and the migrated database differ in ${differences.length} place(s):\n` +
        differences.map((d) => `  - ${d}`).join('\n');
}
