// Builds the `countersign` command (server and CLI) into plain JavaScript in apps/cli/dist/ (or
// beside the entry file given as the first argument) with the esbuild that is already a
// dependency. Run by `npm run build`, at `prepare` (so a clone's `npm install` builds it) and at
// `prepack` (so `npm pack` and `npm publish` ship it), and in the Docker image's build stage.
//
// Code splitting keeps main.ts's lazy per-command imports lazy: each command is its own chunk, so
// `countersign request` loads the CLI's HTTP code and never the server, Prisma, Bolt or botbuilder.
// Packages stay external (node_modules is installed beside it). Each source's `import.meta.url`
// is rewritten to that source's own URL, so files found next to the sources (console views,
// migrations, Teams icons, the pipeline client's entry) resolve as they do from the sources.
//
// Beside the entry it writes build-info.json: the modules it wrote and the sources it read. apps/cli/bin/countersign.js
// runs the build only while none of them is newer than it, and the sources otherwise, so an edit
// (or a checkout) is never shadowed by an old build.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY_FILE = process.argv[2]
  ? resolve(process.argv[2])
  : fileURLToPath(new URL('../dist/countersign.mjs', import.meta.url));
const OUTDIR = dirname(ENTRY_FILE);
const BUILD_INFO = 'build-info.json';

/** `import.meta.url` of each bundled source → the URL that source has on disk, relative to the output. */
const keepSourceUrls = {
  name: 'keep-source-urls',
  setup(builder) {
    builder.onLoad({ filter: /\/apps\/.*\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const fromOutput = relative(OUTDIR, args.path).split('\\').join('/');
      const url = `new URL(${JSON.stringify(fromOutput)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

// CommonJS packages inside the bundle (none are bundled, but esbuild's shims need `require`).
const BANNER = [
  "import { createRequire as __countersignCreateRequire } from 'node:module';",
  'const require = __countersignCreateRequire(import.meta.url);',
].join('\n');

// A new build never runs beside an old one's chunks (their names carry content hashes).
await rm(resolve(OUTDIR, BUILD_INFO), { force: true });
for (const file of await readdir(OUTDIR).catch(() => [])) {
  if (/\.mjs(\.map)?$/.test(file)) await rm(resolve(OUTDIR, file), { force: true });
}

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { [basename(ENTRY_FILE, extname(ENTRY_FILE))]: 'apps/cli/src/main.ts' },
  outdir: OUTDIR,
  outExtension: { '.js': '.mjs' },
  // Beside the entry: the rewritten `import.meta.url`s are relative to the output directory.
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  banner: { js: BANNER },
  plugins: [keepSourceUrls],
  metafile: true,
  logLevel: 'warning',
});

// Paths relative to the output directory, so the build can move with the package.
const sources = Object.keys(result.metafile.inputs)
  .map((input) => relative(OUTDIR, resolve(ROOT, input)).split('\\').join('/'))
  .sort();
// The modules it wrote (source maps aside): the bin runs the build only while all of them are there.
const outputs = Object.keys(result.metafile.outputs)
  .filter((output) => output.endsWith('.mjs'))
  .map((output) => relative(OUTDIR, resolve(ROOT, output)).split('\\').join('/'))
  .sort();
await writeFile(
  resolve(OUTDIR, BUILD_INFO),
  `${JSON.stringify({ entry: basename(ENTRY_FILE), outputs, sources }, null, 2)}\n`,
);
