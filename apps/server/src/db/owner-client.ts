// A short connection as the database owner (DATABASE_URL), for the start-up steps the runtime role
// may not take (migrations, key registration).
import pg from 'pg';

/** One short connection as the owner (DATABASE_URL), for the start-up steps the runtime role may not take. */
export async function withOwnerClient(
  url: string,
  work: (client: pg.Client) => Promise<void>,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
