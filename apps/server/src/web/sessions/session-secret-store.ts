// The web_session_secrets table: the one stored secret that signs session cookies.
import type { PrismaClient } from '../../db/client.ts';

/** Stores `secret` as the session secret unless one is stored already (concurrent first starts agree). */
export async function insertSessionSecretIfNone(prisma: PrismaClient, secret: string): Promise<void> {
  // ON CONFLICT DO NOTHING: concurrent first starts all end up reading the one row that won.
  await prisma.$executeRaw`
    INSERT INTO web_session_secrets (id, secret) VALUES (1, ${secret})
    ON CONFLICT (id) DO NOTHING`;
}
