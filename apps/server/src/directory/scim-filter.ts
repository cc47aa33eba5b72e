// The part of the SCIM filter grammar (RFC 7644 §3.4.2.2) provisioning clients send: equality on
// one attribute, joined by `and` (Okta: userName eq "…"; Entra: userName, externalId, displayName,
// emails[type eq "work"].value). Anything else is refused with `invalidFilter`, never guessed.
import { ScimError } from './scim-error.ts';

export interface Equality {
  attribute: string;
  value: string;
}

const CLAUSE = /^\s*([A-Za-z][\w.]*(?:\[type eq "work"\]\.value)?)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*/i;

export function parseFilter(filter: string, allowed: readonly string[]): Equality[] {
  const clauses: Equality[] = [];
  let rest = filter;
  for (;;) {
    const match = CLAUSE.exec(rest);
    if (!match?.[1] || match[2] === undefined) {
      throw new ScimError(
        400,
        `unsupported filter "${filter}": use attribute eq "value" [and …]`,
        'invalidFilter',
      );
    }
    const attribute = allowed.find((a) => a.toLowerCase() === match[1]?.toLowerCase());
    if (!attribute) {
      throw new ScimError(
        400,
        `cannot filter on "${match[1]}": filterable attributes are ${allowed.join(', ')}`,
        'invalidFilter',
      );
    }
    clauses.push({ attribute, value: JSON.parse(`"${match[2]}"`) as string });
    rest = rest.slice(match[0].length);
    if (rest.length === 0) return clauses;
    const and = /^and\s+/i.exec(rest);
    if (!and) {
      throw new ScimError(400, `unsupported filter "${filter}": only "and" joins clauses`, 'invalidFilter');
    }
    rest = rest.slice(and[0].length);
  }
}
