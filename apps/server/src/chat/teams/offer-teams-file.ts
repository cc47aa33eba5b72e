// Files to a user go through Teams' file consent flow (personal chats only): the bot sends a
// FileConsentCard, the user's answer arrives as a `fileConsent/invoke` (maybe at another replica,
// so the bytes wait in Postgres), and on accept the bytes are PUT to the upload URL Teams gives,
// then a FileInfoCard shows the file in the chat. Decline: nothing is uploaded.
import type { Database } from '../../db/client.ts';
import type { Logger } from '../../observability/logger.ts';
import { deleteFileOffer, insertFileOffer } from './teams-store.ts';

export const FILE_CONSENT_CARD = 'application/vnd.microsoft.teams.card.file.consent';
export const FILE_INFO_CARD = 'application/vnd.microsoft.teams.card.file.info';

export interface FileOfferInput {
  conversationId: string;
  userId: string;
  name: string;
  content: Buffer;
  description?: string;
}

export interface TeamsAttachment {
  contentType: string;
  name?: string;
  contentUrl?: string;
  content: Record<string, unknown>;
}

/** Stores the bytes and builds the FileConsentCard attachment that refers to them. */
export async function createFileOffer(
  db: Pick<Database, 'prisma'>,
  offer: FileOfferInput,
): Promise<TeamsAttachment> {
  const context = { offerId: await insertFileOffer(db, offer) };
  return {
    contentType: FILE_CONSENT_CARD,
    name: offer.name,
    content: {
      description: offer.description ?? offer.name,
      sizeInBytes: offer.content.length,
      acceptContext: context,
      declineContext: context,
    },
  };
}

export interface UploadInfo {
  uploadUrl: string;
  contentUrl?: string | undefined;
  name?: string | undefined;
  uniqueId?: string | undefined;
  fileType?: string | undefined;
}

export type FileConsentOutcome =
  | { outcome: 'uploaded'; fileName: string; fileInfo: TeamsAttachment }
  | { outcome: 'declined' | 'unknown_offer'; fileName: string | null }
  | { outcome: 'upload_failed'; fileName: string };

export interface AnswerFileOfferInput {
  offerId: string | undefined;
  action: 'accept' | 'decline';
  /** Who answered; only the user the file was offered to can take it. */
  userId: string;
  uploadInfo: UploadInfo | undefined;
}

/** Acts on the user's answer: uploads on accept, forgets the offer either way. */
export async function answerFileOffer(
  deps: { db: Pick<Database, 'prisma'>; log: Logger; fetch?: typeof fetch },
  input: AnswerFileOfferInput,
): Promise<FileConsentOutcome> {
  const offer = input.offerId
    ? await deps.db.prisma.teamsFileOffer.findUnique({ where: { id: input.offerId } })
    : null;
  if (!offer || offer.userId !== input.userId) return { outcome: 'unknown_offer', fileName: null };
  if (input.action === 'decline' || !input.uploadInfo) {
    await deleteFileOffer(deps.db, offer.id);
    return { outcome: input.action === 'decline' ? 'declined' : 'unknown_offer', fileName: offer.name };
  }
  const size = offer.content.length;
  const upload = await (deps.fetch ?? fetch)(input.uploadInfo.uploadUrl, {
    method: 'PUT',
    headers: {
      'content-type': 'application/octet-stream',
      // OneDrive's upload session takes the whole file as one range; an empty file has none.
      ...(size > 0 ? { 'content-range': `bytes 0-${size - 1}/${size}` } : {}),
    },
    body: offer.content,
    signal: AbortSignal.timeout(60_000),
  }).catch((error: unknown) => error);
  if (!(upload instanceof Response) || !upload.ok) {
    deps.log.warn(
      { offerId: offer.id, status: upload instanceof Response ? upload.status : undefined, err: upload },
      'Teams file upload failed',
    );
    return { outcome: 'upload_failed', fileName: offer.name };
  }
  await deleteFileOffer(deps.db, offer.id);
  const name = input.uploadInfo.name ?? offer.name;
  return {
    outcome: 'uploaded',
    fileName: name,
    fileInfo: {
      contentType: FILE_INFO_CARD,
      name,
      ...(input.uploadInfo.contentUrl ? { contentUrl: input.uploadInfo.contentUrl } : {}),
      content: {
        ...(input.uploadInfo.uniqueId ? { uniqueId: input.uploadInfo.uniqueId } : {}),
        fileType: input.uploadInfo.fileType ?? name.split('.').pop() ?? '',
      },
    },
  };
}
