// The stored audit event keys, for GET /v1/keys/events.
import type { Database } from '../../db/client.ts';

/** Every registered event key's kid and public JWK, oldest first (the JWK as stored, unchecked). */
export function listEventKeys(db: Database): Promise<{ kid: unknown; public_jwk: unknown }[]> {
  return db.prisma.$queryRaw<{ kid: unknown; public_jwk: unknown }[]>`
        SELECT kid, public_jwk FROM audit_event_keys ORDER BY created_at, kid`;
}
