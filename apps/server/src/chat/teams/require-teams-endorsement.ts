// A second gate after botbuilder's token check. botbuilder enforces a signing key's endorsements
// only when the key lists some, and skips the check for an activity without a channelId; here
// the key that signed the token must be in the channel's JWKS and endorsed for "msteams", and the
// activity must be a Teams one. This also shuts the Emulator path (tokens signed by Entra ID keys
// that are not in the channel's JWKS) for a bot that only serves Teams.
import { decodeProtectedHeader } from 'jose';
import { z } from 'zod';

export const TEAMS_CHANNEL_ID = 'msteams';

const metadataSchema = z.looseObject({ jwks_uri: z.url() });
const jwksSchema = z.looseObject({
  keys: z.array(z.looseObject({ kid: z.string().optional(), endorsements: z.array(z.string()).optional() })),
});

/** Keys are re-read at most this often, and at most once a minute for an unknown key id. */
const REFRESH_MS = 24 * 60 * 60_000;
const UNKNOWN_KID_REFRESH_MS = 60_000;

export class EndorsementError extends Error {
  override name = 'EndorsementError';
}

export type EndorsementCheck = (authorization: string, channelId: string | undefined) => Promise<void>;

export function createEndorsementCheck(
  openIdMetadataUrl: string,
  fetchImpl: typeof fetch = fetch,
): EndorsementCheck {
  let cache: { endorsements: Map<string, string[]>; at: number } | undefined;

  async function load(): Promise<Map<string, string[]>> {
    const metadata = metadataSchema.parse(
      await (await fetchImpl(openIdMetadataUrl, { signal: AbortSignal.timeout(10_000) })).json(),
    );
    const jwks = jwksSchema.parse(
      await (await fetchImpl(metadata.jwks_uri, { signal: AbortSignal.timeout(10_000) })).json(),
    );
    const endorsements = new Map<string, string[]>();
    for (const key of jwks.keys) if (key.kid) endorsements.set(key.kid, key.endorsements ?? []);
    cache = { endorsements, at: Date.now() };
    return endorsements;
  }

  async function endorsementsOf(kid: string): Promise<string[] | undefined> {
    const age = cache ? Date.now() - cache.at : Infinity;
    let keys = cache && age < REFRESH_MS ? cache.endorsements : await load();
    if (!keys.has(kid) && age >= UNKNOWN_KID_REFRESH_MS && cache?.endorsements === keys) keys = await load();
    return keys.get(kid);
  }

  return async (authorization, channelId) => {
    if (channelId !== TEAMS_CHANNEL_ID) {
      throw new EndorsementError(
        `activity for channel ${JSON.stringify(channelId)}, not ${TEAMS_CHANNEL_ID}`,
      );
    }
    const token = authorization.replace(/^Bearer\s+/i, '');
    const { kid } = decodeProtectedHeader(token);
    if (!kid) throw new EndorsementError('token names no signing key');
    const endorsements = await endorsementsOf(kid);
    if (!endorsements?.includes(TEAMS_CHANNEL_ID)) {
      throw new EndorsementError(`signing key ${kid} is not endorsed for ${TEAMS_CHANNEL_ID}`);
    }
  };
}
