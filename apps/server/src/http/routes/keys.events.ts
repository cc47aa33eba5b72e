// GET /v1/keys/events — the public JWKS of the event keys that sign state-changing audit events
// (audit/event-key.ts). No auth: they are public keys. A stored key whose kid is not its RFC 7638
// thumbprint is left out, as verification leaves it out.
import { z } from 'zod';
import { jwkThumbprint, publicJwkSchema } from '../../receipts/receipt-key.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';
import { listEventKeys } from '../../audit/chain-store.ts';

const eventJwkSchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string().meta({ description: 'the public key, base64url' }),
    kid: z.string().meta({ description: 'RFC 7638 JWK thumbprint; an event signature starts with it' }),
    alg: z.literal('EdDSA'),
    use: z.literal('sig'),
  })
  .meta({ id: 'EventJwk' });

const eventJwksSchema = z.object({ keys: z.array(eventJwkSchema) }).meta({ id: 'EventJwks' });

const storedRow = z.object({ kid: z.string(), public_jwk: publicJwkSchema });

export const eventKeysRoute: Route = {
  method: 'get',
  path: '/v1/keys/events',
  scope: 'public',
  contract: {
    operationId: 'getEventKeys',
    summary: 'The public key set (JWKS) that verifies the signatures of audit events',
    responses: {
      200: {
        description: 'JWKS of every registered event key, oldest first',
        content: { 'application/json': { schema: eventJwksSchema } },
      },
      '4XX': problemResponse('Any client error, as problem+json'),
    },
  },
  handlers(ctx) {
    return [
      async (_req, res) => {
        const rows = await listEventKeys(ctx.deps.db);
        const keys = rows.flatMap((row) => {
          const parsed = storedRow.safeParse(row);
          if (!parsed.success || jwkThumbprint(parsed.data.public_jwk) !== parsed.data.kid) return [];
          return [
            { ...parsed.data.public_jwk, kid: parsed.data.kid, alg: 'EdDSA' as const, use: 'sig' as const },
          ];
        });
        res.set('Cache-Control', 'public, max-age=300').json(eventJwksSchema.parse({ keys }));
      },
    ];
  },
};
