// npm run bench: each benchmark prints its figures beside a baseline measured in the same run.
import { benchAuditAppend } from './audit-append.bench.ts';

await benchAuditAppend();
