/** What a masked value shows instead of itself (credentials and personal data alike). */
export const MASK = '••••';
