// Who is asking, and how we know: the one place that turns a caller (its API key's bindings, and
// the workload identity it proved, if any) and the requester it names into the requester stored
// with the request and its proof. Every door (REST, MCP, the gateway) goes through here.
import { AppError } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { actionMatches } from './policy/policy.ts';
import { refuseRequest, type RequestCallerRef } from './refuse-request.ts';
import type { RequesterProof } from './requester-proof.ts';

/** What a verified workload identity token proves (the proof minus the key that presented it). */
export type WorkloadClaims = Omit<Extract<RequesterProof, { kind: 'workload' }>, 'kind' | 'keyName'>;

export interface VerifiedWorkload {
  /** The requester's email, read from the token or mapped from its login by the policy. */
  email: string;
  claims: WorkloadClaims;
}

export interface RequestCaller extends RequestCallerRef {
  /** Requesters the API key is bound to (lower-cased); empty = unbound. */
  requesters: readonly string[];
  /** Action globs the API key is limited to; empty = any. */
  actions: readonly string[];
  /** Set when the caller presented a workload identity token that verified. */
  workload?: VerifiedWorkload | undefined;
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
      named ?? caller.workload?.email ?? null,
    );
  }
  const bound = new Set(caller.requesters);
  if (caller.workload) {
    const proven = caller.workload.email;
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
      proof: { kind: 'workload', ...caller.workload.claims, keyName: caller.keyName },
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

function requesterMissing(detail: string): AppError {
  return new AppError('VALIDATION_FAILED', {
    detail,
    errors: [{ pointer: '/requester', message: 'is required' }],
  });
}
