// Audits the policy a server starts with, so the trail shows which rules were in force when.
import { createHash } from 'node:crypto';
import { appendAuditEvent } from '../../audit/append-event.ts';
import type { Database } from '../../db/client.ts';
import { inTransaction } from '../../db/transaction.ts';
import { canonicalJson } from '../../audit/canonical-json.ts';
import type { Policy } from './policy.ts';

/** The file's digest, or for the built-in default a digest of its compiled rules. */
export function policyDigest(policy: Policy): string {
  if (policy.digest) return policy.digest;
  const canonical = canonicalJson({ rules: policy.rules, groups: policy.groups, agents: policy.agentOwners });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

export async function recordPolicyLoaded(
  db: Pick<Database, 'pool'>,
  policy: Policy,
  now: Date,
): Promise<void> {
  await inTransaction(db, (tx) =>
    appendAuditEvent(
      tx,
      {
        type: 'policy.loaded',
        actor: 'system',
        payload: {
          source: policy.source,
          digest: policyDigest(policy),
          rules: policy.rules.map((r) => r.name),
        },
      },
      now,
    ),
  );
}
