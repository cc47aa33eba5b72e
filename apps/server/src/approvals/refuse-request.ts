// A request turned away before anything is stored: the refusal is chained as `request.refused`
// (in its own one-statement transaction) and the AppError the caller gets is returned to throw.
import { chainBatchJson } from '../audit/append-event.ts';
import type { Deps } from '../deps.ts';
import { AppError, type ErrorCode, type FieldError } from '../errors.ts';
import { appendRefusalBatch } from './store/request-store.ts';

export interface RequestCallerRef {
  clientId: string;
  keyName: string;
}

export interface Refusal {
  code: ErrorCode;
  detail: string;
  action: string;
  /** The requester the request named or was proven as, when there is one. */
  requester: string | null;
  errors?: FieldError[];
}

export async function refuseRequest(
  deps: Deps,
  caller: RequestCallerRef,
  refusal: Refusal,
): Promise<AppError> {
  const batch = chainBatchJson(
    [
      {
        type: 'request.refused',
        actor: `client:${caller.clientId}`,
        payload: {
          clientId: caller.clientId,
          keyName: caller.keyName,
          code: refusal.code,
          action: refusal.action,
          requester: refusal.requester,
          detail: refusal.detail,
        },
      },
    ],
    deps.clock.now(),
  );
  await appendRefusalBatch(deps.db, batch);
  return new AppError(refusal.code, {
    detail: refusal.detail,
    ...(refusal.errors ? { errors: refusal.errors } : {}),
  });
}
