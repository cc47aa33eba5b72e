// The body of POST /v1/gateway/calls. Kept apart from the route so the CLI can use the contract
// without loading the server.
import { z } from 'zod';
import { serverName } from '../../gateway/gateway-file-schema.ts';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 lower-case hex digits');

export const recordGatewayCallBody = z
  .strictObject({
    server: serverName,
    tool: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be an MCP tool name')
      .max(128),
    requester: z.email().max(320),
    agent: z.string().min(1).max(200).nullable(),
    payloadDigest: digest,
    isError: z.boolean().nullable(),
    resultDigest: digest.nullable(),
    error: z.string().max(2000).nullable(),
    secrets: z.array(z.string().regex(/^[\w.-]+$/)).max(100),
  })
  .meta({ id: 'RecordGatewayCall' });

export type RecordGatewayCallBody = z.infer<typeof recordGatewayCallBody>;
