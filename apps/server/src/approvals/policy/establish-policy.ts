// Which policy a server starts with. The database's version in force wins: a configured file that
// differs from it is not applied (it is logged and audited, and needs a proposal); a first start
// with no stored version adopts the file as version 1, audited. Without a file and without a
// stored version the built-in default applies and nothing is stored.
import { appendAuditEvent } from '../../audit/append-event.ts';
import type { Database } from '../../db/client.ts';
import { inTransaction } from '../../db/transaction.ts';
import type { Logger } from '../../observability/logger.ts';
import { parsePolicy, readPolicyText } from './load-policy.ts';
import { BUILT_IN_POLICY, type Policy } from './policy.ts';
import { diffPolicyText } from './policy-diff.ts';
import {
  insertVersion,
  lockPolicyVersions,
  readActiveVersion,
  type PolicyVersionRow,
} from './policy-store.ts';

export interface PolicyFileText {
  path: string;
  text: string;
  policy: Policy;
}

/** Reads and validates the configured file (a bad file stops start-up, as before). */
export async function readPolicyFile(path: string | undefined): Promise<PolicyFileText | undefined> {
  if (!path) return undefined;
  const text = await readPolicyText(path);
  return { path, text, policy: parsePolicy(text, path) };
}

/** A stored version compiled; its text was validated when it was adopted or proposed. */
export function compileVersion(row: PolicyVersionRow): Policy {
  return { ...parsePolicy(row.text, row.source), version: row.version };
}

export async function establishPolicy(
  db: Database,
  file: PolicyFileText | undefined,
  log: Logger,
  now: Date,
): Promise<Policy> {
  const active = await inTransaction(db, async (tx) => {
    await lockPolicyVersions(tx);
    const stored = await readActiveVersion(tx);
    if (stored || !file) return stored;
    const digest = file.policy.digest ?? '';
    const row = {
      version: 1,
      text: file.text,
      digest,
      source: file.path,
      diff: diffPolicyText('', file.text, '(none)', 'version 1'),
      adoptedBy: 'system',
      proposalId: null,
    };
    await insertVersion(tx, row, now);
    await appendAuditEvent(
      tx,
      {
        type: 'policy.adopted',
        actor: 'system',
        payload: { version: 1, source: file.path, digest, text: file.text },
      },
      now,
    );
    log.info(
      { policy: file.path, version: 1 },
      'no policy version stored: adopted the policy file as version 1',
    );
    return { ...row, createdAt: now };
  });
  if (!active) return BUILT_IN_POLICY;
  if (file && file.policy.digest !== active.digest) {
    log.warn(
      {
        policy: file.path,
        fileDigest: file.policy.digest,
        activeVersion: active.version,
        activeDigest: active.digest,
      },
      `the policy file differs from version ${active.version} in force and was NOT applied: propose it (countersign policy propose ${file.path}) to change the policy`,
    );
    await inTransaction(db, (tx) =>
      appendAuditEvent(
        tx,
        {
          type: 'policy.file_ignored',
          actor: 'system',
          payload: {
            source: file.path,
            fileDigest: file.policy.digest ?? '',
            activeVersion: active.version,
            activeDigest: active.digest,
          },
        },
        now,
      ),
    );
  }
  return compileVersion(active);
}
