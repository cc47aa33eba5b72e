// `npm install` step: makes the pristine PGlite cluster that new embedded data directories are
// copied from (seed-pglite-data-dir.ts), so the first `countersign serve` does not run initdb.
// Never fails the install: without the template the server runs initdb itself, as before.
import { preparePgliteTemplate } from './seed-pglite-data-dir.ts';

const started = performance.now();
try {
  const template = await preparePgliteTemplate();
  console.log(
    `countersign: PGlite template ready in ${template} (${Math.round(performance.now() - started)} ms)`,
  );
} catch (error) {
  console.warn(`countersign: no PGlite template (${String(error)}); the first embedded start runs initdb`);
}
