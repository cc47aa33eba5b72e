// Lists API keys without anything secret: name, display prefix, scopes, bindings, admins and state.
import type { PrismaClient } from '../db/client.ts';

export interface ApiKeySummary {
  id: string;
  clientId: string;
  name: string;
  prefix: string;
  scopes: string[];
  requesters: string[];
  actions: string[];
  /** The people who administer the key's client; they see its requests in the console. */
  admins: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export async function listApiKeys(db: PrismaClient): Promise<ApiKeySummary[]> {
  const keys = await db.apiKey.findMany({
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    select: {
      id: true,
      clientId: true,
      name: true,
      prefix: true,
      scopes: true,
      requesters: true,
      actions: true,
      createdAt: true,
      lastUsedAt: true,
      revokedAt: true,
      client: { select: { admins: true } },
    },
  });
  // Keys made before bindings existed have NULL lists: unbound, like an empty one.
  return keys.map(({ client, ...key }) => ({
    ...key,
    requesters: key.requesters ?? [],
    actions: key.actions ?? [],
    // Clients made before admins existed have NULL: no admins.
    admins: client.admins ?? [],
  }));
}
