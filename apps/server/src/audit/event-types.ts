// Audit event payloads, typed per event type so an event cannot be written with the wrong shape.

export type AuditEventInput =
  | {
      type: 'request.created';
      requestId: string;
      actor: string;
      payload: {
        clientId: string;
        action: string;
        requester: string;
        payloadDigest: string;
        expiresAt: string;
      };
    }
  | {
      type: 'request.cancelled';
      requestId: string;
      actor: string;
      payload: { clientId: string; reason: string | null };
    };

export type AuditEventType = AuditEventInput['type'];
