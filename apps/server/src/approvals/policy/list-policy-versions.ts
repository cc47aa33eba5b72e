// The policy's stored versions for reading (GET /v1/policy/versions): newest first with an opaque
// keyset cursor, each with who proposed it and who approved it (the approvals of its policy.change
// request); one version with its full text and diff.
import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { selectVersionHistory, selectVersionWithHistory, type VersionHistoryRow } from './policy-store.ts';

export interface PolicyVersionSummary {
  version: number;
  digest: string;
  /** The adopted file's path, or `proposal <id>`. */
  source: string;
  /** When it was adopted (version 1) or became the version in force (an approved proposal). */
  createdAt: Date;
  /** `adopted` for the file a first start took, `changed` for an approved proposal. */
  kind: 'adopted' | 'changed';
  proposalId: string | null;
  /** Who proposed it; null for an adopted file. */
  proposer: string | null;
  /** The approvers whose approvals made it the version in force, in order; empty for an adopted file. */
  approvers: string[];
  /** Who adopted it as recorded with the version (the start-up's actor, or the approvers). */
  adoptedBy: string;
}

export interface PolicyVersionDetail extends PolicyVersionSummary {
  text: string;
  /** Unified diff from the previous version (from nothing for the first). */
  diff: string;
}

export interface ListPolicyVersionsInput {
  cursor?: string | undefined;
  limit: number;
}

const cursorSchema = z.strictObject({ v: z.number().int().min(1) });

function encodeCursor(version: number): string {
  return Buffer.from(JSON.stringify({ v: version })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).v;
  } catch {
    throw new AppError('INVALID_CURSOR', {
      detail: 'the cursor is not one this server issued',
      errors: [{ pointer: '/cursor', message: 'not a valid cursor' }],
    });
  }
}

function summaryOf(row: VersionHistoryRow): PolicyVersionSummary {
  return {
    version: row.version,
    digest: row.digest,
    source: row.source,
    createdAt: row.createdAt,
    kind: row.proposalId === null ? 'adopted' : 'changed',
    proposalId: row.proposalId,
    proposer: row.proposer,
    approvers: row.approvers,
    adoptedBy: row.adoptedBy,
  };
}

export async function listPolicyVersions(
  deps: Pick<Deps, 'db'>,
  input: ListPolicyVersionsInput,
): Promise<{ items: PolicyVersionSummary[]; nextCursor: string | null }> {
  const before = input.cursor === undefined ? null : decodeCursor(input.cursor);
  const rows = await selectVersionHistory(deps.db, before, input.limit + 1);
  const items = rows.slice(0, input.limit).map(summaryOf);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > input.limit && last ? encodeCursor(last.version) : null };
}

export async function getPolicyVersion(
  deps: Pick<Deps, 'db'>,
  version: number,
): Promise<PolicyVersionDetail> {
  const row = await selectVersionWithHistory(deps.db, version);
  if (!row) throw new AppError('NOT_FOUND', { detail: `no policy version ${version} is stored` });
  return { ...summaryOf(row), text: row.text ?? '', diff: row.diff ?? '' };
}
