-- Idempotency-Key values are stored as the hex SHA-256 of the key (a key may be a secret, such as a
-- CI run token); the application hashes before every lookup. Convert the keys stored before.
UPDATE "approval_requests"
   SET "idempotency_key" = encode(sha256(convert_to("idempotency_key", 'UTF8')), 'hex')
 WHERE "idempotency_key" IS NOT NULL;

-- The request's callback_url is the one full copy of a callback URL (the delivery reads it there);
-- a delivery row keeps the URL as it may be shown, without its query string or fragment.
UPDATE "callback_deliveries"
   SET "url" = regexp_replace("url", '[?#].*$', '?••••')
 WHERE "url" ~ '[?#]';
