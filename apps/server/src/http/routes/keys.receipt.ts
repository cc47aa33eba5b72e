// GET /v1/keys/receipt — the public JWKS that verifies receipts. No auth: it is a public key.
import { z } from 'zod';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';

// z.object strips unknown members, so even a key carrying `d` could not leave through here.
const receiptJwkSchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string().meta({ description: 'the public key, base64url' }),
    kid: z.string().meta({ description: 'RFC 7638 JWK thumbprint; the receipt header names it' }),
    alg: z.literal('EdDSA'),
    use: z.literal('sig'),
  })
  .meta({ id: 'ReceiptJwk' });

const receiptJwksSchema = z.object({ keys: z.array(receiptJwkSchema) }).meta({ id: 'ReceiptJwks' });

export const receiptKeysRoute: Route = {
  method: 'get',
  path: '/v1/keys/receipt',
  scope: 'public',
  contract: {
    operationId: 'getReceiptKeys',
    summary: 'The public key set (JWKS) that verifies verdict receipts',
    responses: {
      200: {
        description: 'JWKS; save it to verify receipts offline',
        content: { 'application/json': { schema: receiptJwksSchema } },
      },
      '4XX': problemResponse('Any client error, as problem+json'),
    },
  },
  handlers(ctx) {
    return [
      (_req, res) => {
        res
          .set('Cache-Control', 'public, max-age=300')
          .json(receiptJwksSchema.parse(ctx.deps.receipts.jwks()));
      },
    ];
  },
};
