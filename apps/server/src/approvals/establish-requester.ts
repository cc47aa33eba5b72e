// Who is asking, and how we know: the one place that turns a caller (its API key's bindings, and
// the workload identity it proved, if any) and the requester it names into the requester stored
// with the request and its proof. Every door (REST, MCP, the gateway) goes through here.
import { AppError, isAppError } from '../errors.ts';
import { verifyIdentityToken, type VerifiedWorkload } from '../identity/verify-identity-token.ts';
import type { Deps } from '../deps.ts';
import { actionMatches } from './policy/policy.ts';
import { refuseRequest, type RequestCallerRef } from './refuse-request.ts';
import type { RequesterProof } from '../receipts/requester-proof.ts';

export interface RequestCaller extends RequestCallerRef {
  /** Requesters the API key is bound to (lower-cased); empty = unbound. */
  requesters: readonly string[];
  /** Action globs the API key is limited to; empty = any. */
  actions: readonly string[];
  /** The workload identity token the caller presented (Countersign-Identity-Token), unverified. */
  identityToken?: string | undefined;
  /** The API key's id, for per-key budgets (break-glass); absent when the caller has none. */
  keyId?: string | undefined;
}

export interface EstablishedRequester {
  email: string;
  name: string | null;
  proof: RequesterProof;
}

export async function establishRequester(
  deps: Deps,
  caller: RequestCaller,
  input: { action: string; requester?: { email: string; name?: string | undefined } | undefined },
): Promise<EstablishedRequester> {
  const named = input.requester?.email.trim().toLowerCase();
  const name = input.requester?.name ?? null;
  const refuse = (
    code: 'REQUESTER_NOT_BOUND' | 'ACTION_NOT_ALLOWED' | 'REQUESTER_MISMATCH',
    detail: string,
    pointer: string,
    requester: string | null,
  ) =>
    refuseRequest(deps, caller, {
      code,
      detail,
      action: input.action,
      requester,
      errors: [{ pointer, message: detail }],
    });

  if (caller.actions.length > 0 && !actionMatches(caller.actions, input.action)) {
    throw await refuse(
      'ACTION_NOT_ALLOWED',
      `key "${caller.keyName}" may only ask for ${caller.actions.join(', ')}`,
      '/action',
      named ?? null,
    );
  }
  const bound = new Set(caller.requesters);
  const workload =
    caller.identityToken === undefined
      ? undefined
      : await verifyToken(deps, caller, input.action, named, caller.identityToken);
  if (workload) {
    const proven = workload.email;
    if (named !== undefined && named !== proven) {
      throw await refuse(
        'REQUESTER_MISMATCH',
        `the identity token proves ${proven}, not ${named}`,
        '/requester/email',
        named,
      );
    }
    if (bound.size > 0 && !bound.has(proven)) {
      throw await refuse(
        'REQUESTER_NOT_BOUND',
        `key "${caller.keyName}" is not bound to ${proven}`,
        '/requester/email',
        proven,
      );
    }
    return {
      email: proven,
      name,
      proof: { kind: 'workload', ...workload.claims, keyName: caller.keyName },
    };
  }
  if (bound.size > 0) {
    if (named === undefined) {
      const [only, ...more] = caller.requesters;
      if (only === undefined || more.length > 0)
        throw requesterMissing(`key "${caller.keyName}" is bound to several requesters: name one`);
      return { email: only, name, proof: { kind: 'key', keyName: caller.keyName } };
    }
    if (!bound.has(named)) {
      throw await refuse(
        'REQUESTER_NOT_BOUND',
        `key "${caller.keyName}" is not bound to ${named}`,
        '/requester/email',
        named,
      );
    }
    return { email: named, name, proof: { kind: 'key', keyName: caller.keyName } };
  }
  if (named === undefined)
    throw requesterMissing('name the requester, or bind the key to one, or send an identity token');
  return { email: named, name, proof: { kind: 'claimed', keyName: caller.keyName } };
}

/** A token that does not verify is refused (401/403/503 with its code) and audited; nothing is stored. */
async function verifyToken(
  deps: Deps,
  caller: RequestCaller,
  action: string,
  named: string | undefined,
  token: string,
): Promise<VerifiedWorkload> {
  try {
    return await verifyIdentityToken(deps.policy.identityIssuers ?? [], token, deps.clock.now());
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw await refuseRequest(deps, caller, {
      code: error.code,
      detail: error.detail,
      action,
      requester: named ?? null,
      ...(error.errors ? { errors: error.errors } : {}),
    });
  }
}

function requesterMissing(detail: string): AppError {
  return new AppError('VALIDATION_FAILED', {
    detail,
    errors: [{ pointer: '/requester', message: 'is required' }],
  });
}
