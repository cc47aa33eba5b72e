// The policy's versions as the database keeps them: the one in force is the highest. Version 1 is
// the file adopted at the first start; every later one is an approved proposal. The versions are
// read and written in policy-store.ts.

/** The action of the approval request a proposed change is decided as (propose-policy.ts). */
export const POLICY_CHANGE_ACTION = 'policy.change';
