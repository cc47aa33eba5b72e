// Teams names a channel thread "<channel id>;messageid=<thread root>" on invokes and messages;
// stored references and cards are keyed by the channel id alone.

/** The conversation id without any ";messageid=…" suffix. */
export function normalizeConversationId(conversationId: string): string {
  const cut = conversationId.toLowerCase().indexOf(';messageid=');
  return cut === -1 ? conversationId : conversationId.slice(0, cut);
}
