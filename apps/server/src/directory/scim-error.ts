// The SCIM error (RFC 7644 §3.12): a status and, for 400s, the `scimType` a client acts on.
export type ScimType =
  | 'invalidFilter'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'invalidValue'
  | 'noTarget'
  | 'uniqueness'
  | 'mutability';

export class ScimError extends Error {
  override name = 'ScimError';
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413,
    readonly detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
  }

  body(): Record<string, unknown> {
    return {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    };
  }
}

/** The 404 for a User or Group id that names nothing (or a removed person). */
export function scimNotFound(kind: 'User' | 'Group', id: string): ScimError {
  return new ScimError(404, `${kind} ${id} not found`);
}
