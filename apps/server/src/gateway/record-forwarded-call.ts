// Puts an allowed gateway call in the chain: which server and tool, for whom, the digest of its
// arguments and of its result. Held calls are in the chain through their approval request.
import { appendAuditEvent } from '../audit/append-event.ts';
import { inTransaction } from '../db/transaction.ts';
import type { GatewayCallAudit } from '../audit/event-types.ts';
import type { Deps } from '../deps.ts';

export type ForwardedCall = Omit<GatewayCallAudit, 'clientId'>;

export async function recordForwardedCall(
  deps: Pick<Deps, 'db' | 'clock'>,
  clientId: string,
  call: ForwardedCall,
): Promise<void> {
  const now = deps.clock.now();
  await inTransaction(deps.db, (tx) =>
    appendAuditEvent(
      tx,
      { type: 'gateway.call.forwarded', actor: `client:${clientId}`, payload: { clientId, ...call } },
      now,
    ),
  );
}
