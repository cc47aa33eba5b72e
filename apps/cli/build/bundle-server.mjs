// Bundles the `countersign` command (server and CLI) into apps/cli/dist/countersign.mjs (or the
// file given as the first argument) with the esbuild that is already a dependency, so the Docker
// image runs plain JavaScript without tsx.
// Packages stay external (node_modules is installed beside it). Each source's `import.meta.url`
// is rewritten to that source's own URL, so files found next to the sources (console views,
// migrations, Teams icons, the pipeline client's entry) resolve as they do under tsx.
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUTFILE = process.argv[2]
  ? resolve(process.argv[2])
  : fileURLToPath(new URL('../dist/countersign.mjs', import.meta.url));

/** `import.meta.url` of each bundled source → the URL that source has on disk, relative to the bundle. */
const keepSourceUrls = {
  name: 'keep-source-urls',
  setup(builder) {
    builder.onLoad({ filter: /\/apps\/.*\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const fromBundle = relative(dirname(OUTFILE), args.path).split('\\').join('/');
      const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

// CommonJS packages inside the bundle (none are bundled, but esbuild's shims need `require`).
const BANNER = [
  "import { createRequire as __countersignCreateRequire } from 'node:module';",
  'const require = __countersignCreateRequire(import.meta.url);',
].join('\n');

await build({
  absWorkingDir: ROOT,
  entryPoints: ['apps/cli/src/main.ts'],
  outfile: OUTFILE,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  banner: { js: BANNER },
  plugins: [keepSourceUrls],
  logLevel: 'warning',
});
