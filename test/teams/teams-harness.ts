// Shared set-up of the Teams tests: the local Microsoft side, a migrated fresh database and the
// Teams platform layer in a child process configured to use them.
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import {
  startFakeTeams,
  type FakeTeams,
  type StartFakeTeamsOptions,
} from '../support/fake-teams/start-fake-teams.ts';
import { startTeamsBotHost, type TeamsBotHost } from '../support/fake-teams/start-teams-bot-host.ts';
import { createMigratedTestDatabase, type TestDatabase } from '../support/test-database.ts';

export interface TeamsHarness {
  fake: FakeTeams;
  host: TeamsBotHost;
  database: TestDatabase;
  db: Database;
  close(): Promise<void>;
}

export async function startTeamsHarness(options: StartFakeTeamsOptions = {}): Promise<TeamsHarness> {
  const fake = await startFakeTeams(options);
  const database = await createMigratedTestDatabase();
  const host = await startTeamsBotHost({ ...fake.env, DATABASE_URL: database.url });
  const db = createDatabase(database.url, { maxConnections: 2 });
  return {
    fake,
    host,
    database,
    db,
    async close() {
      await host.stop();
      await db.close();
      await database.drop();
      await fake.close();
    },
  };
}
