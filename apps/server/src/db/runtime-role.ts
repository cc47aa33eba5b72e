// The runtime role: the service's own sessions run as a role that does not own the audit tables,
// so nothing they execute can disable or drop the append-only triggers, delete or truncate events
// or move the chain head. Run by the owner (the DATABASE_URL user) right after the migrations:
// creates the role when missing (NOLOGIN) and brings its grants up to date.
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { Logger } from '../observability/logger.ts';

export const JOB_SCHEMA = 'pgboss';

/** Tables the runtime role may only read; appends go through countersign_append_audit_events. */
const READ_ONLY_TABLES = [
  'audit_events',
  'audit_chain_head',
  'audit_event_keys',
  'audit_signing_start',
  '_prisma_migrations',
];
/** Tables the runtime role may not touch at all: the receipt key is read once at start-up by the owner. */
const HIDDEN_TABLES = ['receipt_keys'];
const APPEND_FUNCTION = 'countersign_append_audit_events(jsonb)';

/** A key of our own among the database's advisory locks, so concurrent starts take turns here. */
const RUNTIME_ROLE_LOCK_KEY = 0x52_4f_4c_45; // "ROLE"

export type RuntimeRoleStatus = { ready: true; role: string } | { ready: false; reason: string };

interface Me {
  user: string;
  superuser: boolean;
  createrole: boolean;
  roleExists: boolean;
  member: boolean;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function whoAmI(client: pg.ClientBase, role: string): Promise<Me> {
  const { rows } = await client.query<Me>(
    `SELECT current_user AS "user", r.rolsuper AS superuser, r.rolcreaterole AS createrole,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS "roleExists",
            (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role(current_user, $1, 'MEMBER')) AS member
       FROM pg_roles r WHERE r.rolname = current_user`,
    [role],
  );
  const me = rows[0];
  if (!me) throw new Error('current_user is not in pg_roles');
  return me;
}

const isPgError = (error: unknown, ...codes: string[]): boolean =>
  error instanceof Error && 'code' in error && codes.includes(String(error.code));

/** CREATE ROLE, tolerating a concurrent start (roles are cluster-wide) that created it first. */
async function createRole(client: pg.ClientBase, role: string): Promise<void> {
  try {
    await client.query(`CREATE ROLE ${quote(role)} NOLOGIN`);
  } catch (error) {
    // 42710 duplicate_object, 23505 unique_violation: someone else created it meanwhile.
    if (!isPgError(error, '42710', '23505')) throw error;
  }
}

/**
 * Creates the role if needed and grants it what the service needs. Returns why it cannot when the
 * owner lacks the rights (the caller then keeps its sessions on the owner and says so).
 */
export async function prepareRuntimeRole(url: string, role: string, log: Logger): Promise<RuntimeRoleStatus> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [RUNTIME_ROLE_LOCK_KEY]);
    let me = await whoAmI(client, role);
    if (!me.roleExists) {
      if (!me.superuser && !me.createrole) {
        return {
          ready: false,
          reason: `role ${role} does not exist and ${me.user} may not create roles; create it (CREATE ROLE ${role} NOLOGIN) and GRANT ${role} TO ${me.user}`,
        };
      }
      await createRole(client, role);
      log.info({ role }, 'runtime role created');
      me = await whoAmI(client, role);
    }
    if (!me.superuser && !me.member) {
      try {
        await client.query(`GRANT ${quote(role)} TO ${quote(me.user)}`);
      } catch (error) {
        return {
          ready: false,
          reason: `${me.user} is not a member of ${role} and cannot become one (${String(error)}); GRANT ${role} TO ${me.user}`,
        };
      }
    }
    await installJobSchema(client, role);
    await grantRuntimePrivileges(client, role);
    return { ready: true, role };
  } finally {
    await client.end();
  }
}

/**
 * pg-boss creates its schema on start, and later creates a table per queue and attaches it to its
 * job table, which only an owner may do. The runtime role may not create schemas, so the owner
 * installs pg-boss's tables once and hands the whole schema to the runtime role; pg-boss's own
 * upgrades then run under that role.
 */
async function installJobSchema(client: pg.ClientBase, role: string): Promise<void> {
  const { rows } = await client.query<{ installed: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS installed`,
    [`${JOB_SCHEMA}.version`],
  );
  if (!rows[0]?.installed) {
    try {
      await client.query(PgBoss.getConstructionPlans(JOB_SCHEMA));
    } catch (error) {
      // pg-boss's own race guard: another process installed it first.
      if (!(error instanceof Error && error.message.includes('already exists'))) throw error;
    }
  }
  await client.query(
    `DO $$
     DECLARE
       target name := ${pg.escapeLiteral(role)};
       item record;
     BEGIN
       EXECUTE format('ALTER SCHEMA %I OWNER TO %I', ${pg.escapeLiteral(JOB_SCHEMA)}, target);
       FOR item IN
         SELECT c.oid::regclass AS name FROM pg_class c
          WHERE c.relnamespace = ${pg.escapeLiteral(JOB_SCHEMA)}::regnamespace
            AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
            AND pg_get_userbyid(c.relowner) <> target
            -- a sequence owned by a column follows its table
            AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
       LOOP
         EXECUTE format('ALTER TABLE %s OWNER TO %I', item.name, target);
       END LOOP;
       FOR item IN
         SELECT p.oid::regprocedure AS name FROM pg_proc p
          WHERE p.pronamespace = ${pg.escapeLiteral(JOB_SCHEMA)}::regnamespace AND pg_get_userbyid(p.proowner) <> target
       LOOP
         EXECUTE format('ALTER FUNCTION %s OWNER TO %I', item.name, target);
       END LOOP;
       FOR item IN
         SELECT t.oid::regtype AS name FROM pg_type t
          WHERE t.typnamespace = ${pg.escapeLiteral(JOB_SCHEMA)}::regnamespace AND t.typtype IN ('e', 'd', 'c')
            AND t.typrelid = 0 AND pg_get_userbyid(t.typowner) <> target
       LOOP
         EXECUTE format('ALTER TYPE %s OWNER TO %I', item.name, target);
       END LOOP;
     END
     $$`,
  );
}

/**
 * Rewrites the role's grants on the application schema from scratch, so a table added by a later
 * migration is covered on the next start: read/write on the application's tables, read only on
 * the audit tables and the migrations' bookkeeping, nothing on the receipt key, and EXECUTE on the
 * append function (SECURITY DEFINER, so it alone moves the chain head).
 */
async function grantRuntimePrivileges(client: pg.ClientBase, role: string): Promise<void> {
  const r = quote(role);
  const { rows } = await client.query<{ table: string }>(
    `SELECT tablename AS "table" FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`,
  );
  const tables = rows.map((row) => row.table);
  const readWrite = tables.filter((t) => !READ_ONLY_TABLES.includes(t) && !HIDDEN_TABLES.includes(t));
  const readOnly = tables.filter((t) => READ_ONLY_TABLES.includes(t));
  const { rows: sequences } = await client.query<{ sequence: string }>(
    `SELECT sequencename AS sequence FROM pg_sequences WHERE schemaname = current_schema()`,
  );
  const statements = [
    `GRANT USAGE ON SCHEMA ${quote(await currentSchema(client))} TO ${r}`,
    ...tables.map((t) => `REVOKE ALL ON TABLE ${quote(t)} FROM ${r}`),
    ...readWrite.map((t) => `GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ${quote(t)} TO ${r}`),
    ...readOnly.map((t) => `GRANT SELECT ON TABLE ${quote(t)} TO ${r}`),
    ...sequences
      .filter((s) => !s.sequence.startsWith('audit_events_'))
      .map((s) => `GRANT USAGE, SELECT ON SEQUENCE ${quote(s.sequence)} TO ${r}`),
    `GRANT EXECUTE ON FUNCTION ${APPEND_FUNCTION} TO ${r}`,
  ];
  await client.query('BEGIN');
  try {
    for (const statement of statements) await client.query(statement);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function currentSchema(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ schema: string }>('SELECT current_schema() AS schema');
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('no current schema');
  return schema;
}

/** The same database, with every session switched to the role (a startup option, so RESET ROLE keeps it). */
export function urlWithRole(url: string, role: string): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get('options');
  parsed.searchParams.set('options', `${existing ? `${existing} ` : ''}-c role=${role}`);
  return parsed.toString();
}

export interface SessionUrlInput {
  /** DATABASE_URL (or the embedded database's URL): the owner, who runs the migrations. */
  ownerUrl: string;
  embedded: boolean;
  /** COUNTERSIGN_RUNTIME_ROLE; `off` keeps sessions on the owner. */
  role: string;
  /** COUNTERSIGN_RUNTIME_DATABASE_URL, a login for the runtime role. */
  runtimeUrl: string | undefined;
  log: Logger;
}

/**
 * The URL the service's own sessions (Prisma pool, job queue, status feed) connect with: the
 * runtime role where it can be prepared, else the owner with a warning saying why.
 */
export async function resolveSessionUrl(input: SessionUrlInput): Promise<string> {
  const { ownerUrl, role, runtimeUrl, log } = input;
  if (input.embedded) {
    log.warn(
      { role },
      'embedded PGlite: sessions run as the owner, not the runtime role: PGlite has one session shared by every connection, so a role set for the service would also apply to migrations and CLI commands; use Postgres with DATABASE_URL for an audit trail the service itself cannot rewrite',
    );
    return ownerUrl;
  }
  if (role === 'off') {
    log.warn(
      'COUNTERSIGN_RUNTIME_ROLE=off: sessions run as the DATABASE_URL user, who owns the audit tables',
    );
    return runtimeUrl ?? ownerUrl;
  }
  const status = await prepareRuntimeRole(ownerUrl, role, log);
  if (!status.ready) {
    log.warn(
      { role, reason: status.reason },
      `cannot use the runtime role: ${status.reason}; sessions run as the ${runtimeUrl ? 'COUNTERSIGN_RUNTIME_DATABASE_URL' : 'DATABASE_URL'} user`,
    );
    return runtimeUrl ?? ownerUrl;
  }
  const url = urlWithRole(runtimeUrl ?? ownerUrl, role);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ current: string; session: string }>(
      'SELECT current_user AS current, session_user AS session',
    );
    log.info(
      {
        role: rows[0]?.current,
        login: rows[0]?.session,
        via: runtimeUrl ? 'COUNTERSIGN_RUNTIME_DATABASE_URL' : 'DATABASE_URL',
      },
      'sessions run as the runtime role: the audit tables are read-only to them',
    );
  } finally {
    await client.end();
  }
  return url;
}
