# Countersign server image. A build stage bundles the TypeScript sources into one JavaScript file
# with esbuild; the runtime stage has production dependencies only and runs that file, not tsx.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY prisma/ ./prisma/
RUN npm ci --ignore-scripts && node prisma/generate.mjs
COPY apps/ ./apps/
RUN node apps/cli/build/bundle-server.mjs

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so this layer is rebuilt only when the lockfile or the Prisma schema changes.
# Dependency install scripts are skipped (as npm 11 does on the dev machines, so nothing relies on
# them); the project's own postinstall, the offline Prisma client generation, then runs explicitly
# (the bundle carries its own copy; the sources below, e.g. `apps/cli/bin/countersign.js`, use this one).
COPY package.json package-lock.json ./
COPY prisma/ ./prisma/
RUN npm ci --omit=dev --ignore-scripts \
  && node prisma/generate.mjs \
  && npm cache clean --force

# The sources stay: the bundle reads the console views, the migrations, the Teams icons and the
# pipeline client's sources (bundled on first request) from beside them.
COPY apps/ ./apps/
COPY --from=build /app/apps/cli/dist/ ./apps/cli/dist/
# Tests are not needed at run time.
RUN find apps -name '*.test.ts' -delete
# The pristine PGlite cluster new embedded data directories are copied from (no initdb at first start).
RUN node --import tsx apps/server/src/db/install-pglite-template.ts
# Default COUNTERSIGN_DATA_DIR (generated receipt key, embedded database); compose mounts a volume here.
RUN mkdir -p .countersign && chown node:node .countersign

USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--enable-source-maps", "apps/cli/dist/countersign.mjs", "serve"]
