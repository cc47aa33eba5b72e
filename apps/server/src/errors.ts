// The one error model: every expected failure is an AppError with a stable code. The table maps
// each code to exactly one HTTP status; http/problem.ts renders it as problem+json.

export const ERROR_CODES = {
  /** The body is not parseable JSON. */
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON' },
  /** The body or query parsed but breaks the schema (wrong type, unknown or missing field). */
  VALIDATION_FAILED: { status: 422, title: 'Validation failed' },
  /** Only application/json bodies are accepted. */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  /** Body or context above the size bound; rejected before anything is stored. */
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  /** No bearer token on a route that needs one. */
  API_KEY_MISSING: { status: 401, title: 'API key missing' },
  /** The bearer token matches no key. */
  API_KEY_INVALID: { status: 401, title: 'API key invalid' },
  /** The key was revoked; it stops working at once. */
  API_KEY_REVOKED: { status: 401, title: 'API key revoked' },
  /** The key lacks the scope the route needs. */
  INSUFFICIENT_SCOPE: { status: 403, title: 'Insufficient scope' },
  /** No such resource for this client (other clients' requests are invisible, not forbidden). */
  NOT_FOUND: { status: 404, title: 'Not found' },
  /** No route for this method and path. */
  ROUTE_NOT_FOUND: { status: 404, title: 'Route not found' },
  /** The Idempotency-Key was used before with a different body. */
  IDEMPOTENCY_CONFLICT: { status: 409, title: 'Idempotency conflict' },
  /** The request already has a verdict; it cannot change state again. */
  ALREADY_DECIDED: { status: 409, title: 'Already decided' },
  /** The action matches no policy rule and the policy has no catch-all. */
  NO_MATCHING_RULE: { status: 422, title: 'No matching policy rule' },
  /** The request tries to widen what its policy rule allows (approvers, quorum, expiry, channel). */
  POLICY_VIOLATION: { status: 422, title: 'Policy violation' },
  /** A `deny: true` policy rule matches the request; its reason is shown to the caller, nothing is stored. */
  POLICY_DENIED: { status: 403, title: 'Denied by policy' },
  /** A proposed policy does not validate; every problem is listed with its line. Nothing is stored. */
  POLICY_INVALID: { status: 422, title: 'Invalid policy' },
  /** Another policy change was approved since this proposal was made; nothing is applied. */
  POLICY_CONFLICT: { status: 409, title: 'Policy changed since the proposal' },
  /** The requester or the agent's owner tried to decide their own request. */
  SELF_APPROVAL_FORBIDDEN: { status: 403, title: 'Self-approval forbidden' },
  /** The decider is not an approver this request's rule allows. */
  NOT_ELIGIBLE: { status: 403, title: 'Not an eligible approver' },
  /** The decider's corporate email could not be established; eligibility fails closed. */
  IDENTITY_UNRESOLVED: { status: 403, title: 'Identity unresolved' },
  /** The request passed its expiry before the decision arrived. */
  REQUEST_EXPIRED: { status: 409, title: 'Request expired' },
  /** The chat clicker's account belongs to another workspace or tenant than the app's own. */
  FOREIGN_TENANT: { status: 403, title: 'Foreign workspace or tenant' },
  /** The identity provider deactivated or removed the decider (SCIM); eligibility fails closed. */
  DEPROVISIONED: { status: 403, title: 'Deprovisioned by the identity provider' },
  /** A chat button was clicked on a message that is not the card stored for its request. */
  CARD_MISMATCH: { status: 409, title: 'Card mismatch' },
  /** The rule requires a reason to deny, and none was given. */
  DENY_REASON_REQUIRED: { status: 422, title: 'Deny reason required' },
  /** A chat channel the request targets cannot receive cards (e.g. the Teams bot was never added there). */
  CHANNEL_NOT_CONNECTED: { status: 422, title: 'Channel not connected' },
  /** The callback URL points at a loopback, private, link-local or metadata address (SSRF guard). */
  CALLBACK_URL_FORBIDDEN: { status: 422, title: 'Callback URL forbidden' },
  /** Only a delivery that failed for good (or was gone) can be sent again. */
  DELIVERY_NOT_RETRYABLE: { status: 409, title: 'Delivery not retryable' },
  /** The pagination cursor was not issued by this server. */
  INVALID_CURSOR: { status: 422, title: 'Invalid cursor' },
  /** A Bot Framework request without a valid channel token (missing, forged, expired, wrong audience…). */
  BOT_AUTH_FAILED: { status: 401, title: 'Bot Framework authentication failed' },
  /** Database unreachable or migrations not applied. */
  NOT_READY: { status: 503, title: 'Not ready' },
  /** The server is shutting down and takes no new work. */
  SHUTTING_DOWN: { status: 503, title: 'Shutting down' },
  /** Postgres is away (restart, failover, network); nothing was changed, the client may retry. */
  DATABASE_UNAVAILABLE: { status: 503, title: 'Database unavailable' },
  /** A console page or form needs a signed-in person (none, or the session ended). */
  SIGN_IN_REQUIRED: { status: 401, title: 'Sign-in required' },
  /** The OpenID sign-in did not complete: state or PKCE mismatch, or the provider refused. */
  SIGN_IN_FAILED: { status: 401, title: 'Sign-in failed' },
  /** A console form arrived without this session's CSRF token (a cross-site post, or a stale page). */
  CSRF_TOKEN_INVALID: { status: 403, title: 'CSRF token invalid' },
  /** Only the policy group `auditors` may open the console's Audit page and reports. */
  NOT_AUDITOR: { status: 403, title: 'Not an auditor' },
  /** The development sign-in was reached from another machine, a non-loopback Host or through a proxy. */
  DEV_SIGNIN_NOT_LOCAL: { status: 403, title: 'Development sign-in is local only' },
  /** Too many sign-in attempts from one address within a minute. */
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  /** The API key is bound to other requesters than the one the request names. */
  REQUESTER_NOT_BOUND: { status: 403, title: 'Requester not bound to this key' },
  /** The API key is bound to a set of actions and this action is outside it. */
  ACTION_NOT_ALLOWED: { status: 403, title: 'Action not allowed for this key' },
  /** The matching rule wants a proven requester (bound key or workload identity); this one is only claimed. */
  REQUESTER_NOT_PROVEN: { status: 422, title: 'Requester not proven' },
  /** The Countersign-Identity-Token is not a well-formed JWT, or its signature does not verify. */
  IDENTITY_TOKEN_INVALID: { status: 401, title: 'Identity token invalid' },
  /** The identity token is expired or not yet valid. */
  IDENTITY_TOKEN_EXPIRED: { status: 401, title: 'Identity token expired' },
  /** The identity token's audience is not the one configured for its issuer. */
  IDENTITY_AUDIENCE_MISMATCH: { status: 401, title: 'Identity token audience mismatch' },
  /** The identity token's issuer is neither a built-in one nor one the policy configures. */
  IDENTITY_ISSUER_UNKNOWN: { status: 401, title: 'Identity token issuer unknown' },
  /** The identity token's issuer could not be reached for its signing keys; nothing was stored, retry later. */
  IDENTITY_ISSUER_UNREACHABLE: { status: 503, title: 'Identity issuer unreachable' },
  /** The token is valid but names a CI login the policy maps to no email; it is never guessed. */
  IDENTITY_UNMAPPED: { status: 403, title: 'Identity not mapped to a requester' },
  /** The request names a requester other than the one its identity token proves. */
  REQUESTER_MISMATCH: { status: 422, title: 'Requester differs from the identity token' },
  /** Anything unexpected; details are logged, not returned. */
  INTERNAL: { status: 500, title: 'Internal error' },
  /** The request line, a header or a path segment cannot be decoded (Node's parser, bad % escapes). */
  MALFORMED_REQUEST: { status: 400, title: 'Malformed request' },
  /** The body does not decode with the Content-Encoding it was sent with. */
  CONTENT_ENCODING_INVALID: { status: 400, title: 'Content-Encoding does not match the body' },
  /** The request headers are larger than Node's header limit. */
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  /** The client did not send its request (headers or body) within the server's request timeout. */
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  /** An execution can only be recorded for an approved request. */
  EXECUTION_NOT_APPROVED: { status: 409, title: 'Not approved' },
  /** The digest the executor computed is not the approved one: what would run is not what was approved. */
  PAYLOAD_DIGEST_MISMATCH: { status: 422, title: 'Payload digest mismatch' },
  /** The request's execution was already started: an approval is used once. */
  ALREADY_EXECUTED: { status: 409, title: 'Already executed' },
  /** An outcome was reported for a request whose execution was never started. */
  EXECUTION_NOT_STARTED: { status: 409, title: 'Execution not started' },
  /** The execution start asked for a policy secret its rule does not list (or with another outcome). */
  SECRET_NOT_ALLOWED: { status: 403, title: 'Secret not allowed' },
  /** A policy secret the rule lists cannot be read on the server (unset variable, unreadable file). */
  SECRET_UNAVAILABLE: { status: 503, title: 'Secret unavailable' },
  /** The execution already has its outcome; it cannot change. */
  EXECUTION_FINISHED: { status: 409, title: 'Execution finished' },
  /**
   * The request's stored row disagrees with what the audit chain recorded for it (or the chain's
   * record is missing or unsigned): it was changed outside the service, so nothing is vouched for.
   */
  CHAIN_MISMATCH: { status: 409, title: 'Request differs from its audit record' },
  /** The request asks for break-glass and its rule does not allow it. */
  BREAK_GLASS_NOT_ALLOWED: { status: 403, title: 'Break-glass not allowed' },
  /** The requester, or the API key, used break-glass under this rule as often as its maxPerDay allows. */
  BREAK_GLASS_BUDGET_EXCEEDED: { status: 429, title: 'Break-glass budget exceeded' },
  /** Only a reviewer the break-glass rule names may acknowledge or flag its use (never the requester). */
  NOT_A_REVIEWER: { status: 403, title: 'Not a break-glass reviewer' },
  /** The break-glass use was already acknowledged or flagged. */
  ALREADY_REVIEWED: { status: 409, title: 'Already reviewed' },
  /** The delegation would let someone decide their own request, directly or through a chain of delegates. */
  DELEGATION_REFUSED: { status: 422, title: 'Delegation refused' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A pointer to the offending part of the input (RFC 6901 JSON pointer) and what is wrong there. */
export interface FieldError {
  pointer: string;
  message: string;
}

export interface AppErrorOptions {
  detail: string;
  errors?: FieldError[];
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions) {
    super(options.detail, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.detail = options.detail;
    this.errors = options.errors;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
