// Lists a client's requests, newest first, with opaque keyset cursors (stable under inserts).
import { z } from 'zod';
import type { ApprovalStatus } from '../generated/prisma/enums.ts';
import { AppError } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { readListPage } from './store/list-page-store.ts';
import { readRequestViews, type RequestView } from './store/request-view-store.ts';

export interface ListRequestsInput {
  status?: ApprovalStatus | undefined;
  action?: string | undefined;
  requester?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface ListRequestsResult {
  /** Each request with its decisions, cards, review and chain record (store/request-view-store.ts). */
  items: RequestView[];
  nextCursor: string | null;
}

const cursorSchema = z.strictObject({ c: z.iso.datetime(), i: z.uuid() });

export function encodeCursor(request: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ c: request.createdAt.toISOString(), i: request.id })).toString(
    'base64url',
  );
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt: new Date(parsed.c), id: parsed.i };
  } catch {
    throw new AppError('INVALID_CURSOR', {
      detail: 'the cursor is not one this server issued',
      errors: [{ pointer: '/cursor', message: 'not a valid cursor' }],
    });
  }
}

export async function listRequests(
  deps: Deps,
  clientId: string,
  input: ListRequestsInput,
): Promise<ListRequestsResult> {
  // The page's ids by the list indexes, then the page in one statement with what each item shows.
  const rows = await readListPage(deps.db, {
    clientId,
    status: input.status,
    action: input.action,
    requesterEmail: input.requester?.toLowerCase(),
    after: input.cursor ? decodeCursor(input.cursor) : undefined,
    take: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  const items = await readRequestViews(
    deps.db,
    page.map((row) => row.id),
  );
  const last = page.at(-1);
  return { items, nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null };
}
