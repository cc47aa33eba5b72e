// The gateway's backend for `countersign gateway` (stdio): a running Countersign over its REST API
// with the gateway's API key, so policy, masking, digests and the chain stay the server's.
import type { GatewayBackend } from '../../../server/src/gateway/gateway-backend.ts';
import { ApiResponseError, type ApiClient } from '../api-client.ts';
import { createRestBackend } from '../mcp/rest-backend.ts';

export function createRestGatewayBackend(client: ApiClient): GatewayBackend {
  const approvals = createRestBackend(client);
  return {
    create: (body, key) => approvals.create(body, key),
    get: (id, waitSeconds, signal) => approvals.get(id, waitSeconds, signal),
    isTransient: (error) => approvals.isTransient(error),
    describe: (error) => approvals.describe(error),
    async startExecution(id, payloadDigest) {
      try {
        await client.recordExecution(id, { payloadDigest, outcome: 'started' });
        return 'started';
      } catch (error) {
        if (error instanceof ApiResponseError && error.problem?.code === 'ALREADY_EXECUTED') {
          return 'already-executed';
        }
        throw error;
      }
    },
    async finishExecution(id, payloadDigest, outcome, detail) {
      await client.recordExecution(id, { payloadDigest, outcome, detail });
    },
    recordForwarded: (call) => client.recordGatewayCall(call),
  };
}
