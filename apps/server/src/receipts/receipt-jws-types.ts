// The JWS algorithm and `typ` values of what the receipt key signs, in a file of their own so a
// verifier (the CLI's `request`) can name them without loading the signer and jose.
export const RECEIPT_ALG = 'EdDSA';
export const RECEIPT_TYPE = 'countersign-receipt+jwt';
export const CHECKPOINT_TYPE = 'countersign-checkpoint+jwt';
export const EVIDENCE_MANIFEST_TYPE = 'countersign-evidence-manifest+jwt';
