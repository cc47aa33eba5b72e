// Preloaded into a benchmarked server (node --import): counts every statement the process sends
// through node-postgres (each Client#query call: Prisma's, our pool's, pg-boss's) and writes the
// running total to the file COUNTERSIGN_BENCH_STATEMENTS_FILE names, every 50 ms when it moved,
// for the bench to read before and after a burst.
import { renameSync, writeFileSync } from 'node:fs';
import pg from 'pg';

const file = process.env.COUNTERSIGN_BENCH_STATEMENTS_FILE;
if (file) {
  let count = 0;
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(...args) {
    count += 1;
    return query.apply(this, args);
  };
  // Written beside and renamed over the file, so a reader never sees it half written; only when
  // the count moved, so that the counting costs the measured server next to nothing while idle.
  let written = -1;
  const write = () => {
    if (count === written) return;
    written = count;
    writeFileSync(`${file}.next`, String(count));
    renameSync(`${file}.next`, file);
  };
  write();
  setInterval(write, 50).unref();
}
