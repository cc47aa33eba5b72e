// The MCP tools' backend for `countersign mcp` (stdio): a running Countersign over its REST API,
// so policy, masking, digest and narrowing rules stay the server's. Connection errors and 502/503/504
// are transient: a tool that is waiting keeps waiting through a server restart.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApprovalBackend } from '../../../server/src/mcp/approval-tools.ts';
import { ApiResponseError, ApiUnreachableError, type ApiClient } from '../api-client.ts';

/** Retries of the POST after a connection error; the Idempotency-Key makes them safe. */
const CREATE_RETRIES = 3;

export function createRestBackend(client: ApiClient): ApprovalBackend {
  const isTransient = (error: unknown) =>
    error instanceof ApiUnreachableError || (error instanceof ApiResponseError && error.isTransient);
  return {
    async create(body, idempotencyKey) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await client.createApproval(body, { idempotencyKey });
        } catch (error) {
          if (!(error instanceof ApiUnreachableError) || attempt >= CREATE_RETRIES) throw error;
          await sleep(500 * 2 ** attempt);
        }
      }
    },
    get: (id, waitSeconds, signal) => client.getApproval(id, { waitSeconds, signal }),
    cancel: (id, reason) => client.cancelApproval(id, reason),
    isTransient,
    describe(error) {
      if (error instanceof ApiResponseError) {
        const { problem } = error;
        if (!problem) return `HTTP ${error.status} from Countersign`;
        const fields = (problem.errors ?? []).map((e) => `${e.pointer || '/'}: ${e.message}`);
        return `${problem.code}: ${problem.detail}${fields.length ? ` (${fields.join('; ')})` : ''}`;
      }
      if (error instanceof ApiUnreachableError) return `Countersign is unreachable: ${error.reason}`;
      return error instanceof Error ? error.message : String(error);
    },
  };
}
