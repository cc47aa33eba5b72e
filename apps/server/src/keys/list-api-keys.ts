// Lists API keys without anything secret: name, display prefix, scopes and state.
import type { PrismaClient } from '../db/client.ts';

export interface ApiKeySummary {
  id: string;
  clientId: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export async function listApiKeys(db: PrismaClient): Promise<ApiKeySummary[]> {
  return db.apiKey.findMany({
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    select: {
      id: true,
      clientId: true,
      name: true,
      prefix: true,
      scopes: true,
      createdAt: true,
      lastUsedAt: true,
      revokedAt: true,
    },
  });
}
