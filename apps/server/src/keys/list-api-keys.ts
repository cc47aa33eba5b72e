// Lists API keys without anything secret: name, display prefix, scopes, bindings and state.
import type { PrismaClient } from '../db/client.ts';

export interface ApiKeySummary {
  id: string;
  clientId: string;
  name: string;
  prefix: string;
  scopes: string[];
  requesters: string[];
  actions: string[];
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
    },
  });
  // Keys made before bindings existed have NULL lists: unbound, like an empty one.
  return keys.map((key) => ({ ...key, requesters: key.requesters ?? [], actions: key.actions ?? [] }));
}
