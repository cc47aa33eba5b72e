// What the gateway needs from Countersign: create or rejoin an approval request, wait on it, and
// record the execution of an approved one. Backed by the REST API (`countersign gateway`) or by
// the use cases in-process (/gateway/mcp on `countersign serve`).
import type { ApprovalBackend } from '../mcp/approval-tools.ts';
import type { ForwardedCall } from './record-forwarded-call.ts';

export interface GatewayBackend extends Pick<ApprovalBackend, 'create' | 'get' | 'isTransient' | 'describe'> {
  /** Records the start; "already-executed" when this request ran (or started) before. */
  startExecution(id: string, payloadDigest: string): Promise<'started' | 'already-executed'>;
  finishExecution(
    id: string,
    payloadDigest: string,
    outcome: 'succeeded' | 'failed',
    detail: string,
  ): Promise<void>;
  /** An allowed call, forwarded without a request, into the audit chain. */
  recordForwarded(call: ForwardedCall): Promise<void>;
}
