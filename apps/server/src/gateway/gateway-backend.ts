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

/** What a door supplies for a gateway backend: its approval calls and how it records. */
export interface GatewayDoor {
  approvals: Pick<ApprovalBackend, 'create' | 'get' | 'isTransient' | 'describe'>;
  recordExecution(
    id: string,
    payloadDigest: string,
    outcome: 'started' | 'succeeded' | 'failed',
    detail?: string,
  ): Promise<void>;
  /** Whether `error` is the refusal to start a request that ran (or started) before. */
  isAlreadyExecuted(error: unknown): boolean;
  recordForwarded(call: ForwardedCall): Promise<void>;
}

/** The gateway backend over one door: the same start, finish and forward on every door. */
export function gatewayBackend(door: GatewayDoor): GatewayBackend {
  const { approvals } = door;
  return {
    create: (body, key) => approvals.create(body, key),
    get: (id, waitSeconds, signal) => approvals.get(id, waitSeconds, signal),
    isTransient: (error) => approvals.isTransient(error),
    describe: (error) => approvals.describe(error),
    async startExecution(id, payloadDigest) {
      try {
        await door.recordExecution(id, payloadDigest, 'started');
        return 'started';
      } catch (error) {
        if (door.isAlreadyExecuted(error)) return 'already-executed';
        throw error;
      }
    },
    finishExecution: (id, payloadDigest, outcome, detail) =>
      door.recordExecution(id, payloadDigest, outcome, detail),
    recordForwarded: (call) => door.recordForwarded(call),
  };
}
