// The gateway's backend for `countersign gateway` (stdio): a running Countersign over its REST API
// with the gateway's API key, so policy, masking, digests and the chain stay the server's.
import { gatewayBackend, type GatewayBackend } from '../../../server/src/gateway/gateway-backend.ts';
import { ApiResponseError, type ApiClient } from '../api-client.ts';
import { createRestBackend } from '../mcp/rest-backend.ts';

export function createRestGatewayBackend(client: ApiClient): GatewayBackend {
  return gatewayBackend({
    approvals: createRestBackend(client),
    recordExecution: async (id, payloadDigest, outcome, detail) => {
      await client.recordExecution(id, { payloadDigest, outcome, detail });
    },
    isAlreadyExecuted: (error) =>
      error instanceof ApiResponseError && error.problem?.code === 'ALREADY_EXECUTED',
    recordForwarded: (call) => client.recordGatewayCall(call),
  });
}
