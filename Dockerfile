# Countersign server image. There is no build step: the CLI runs the TypeScript sources via tsx.
FROM node:22-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so this layer is rebuilt only when the lockfile or the Prisma schema changes.
# Dependency install scripts are skipped (as npm 11 does on the dev machines, so nothing relies on
# them); the project's own postinstall, the offline Prisma client generation, then runs explicitly.
COPY package.json package-lock.json ./
COPY prisma/ ./prisma/
RUN npm ci --omit=dev --ignore-scripts \
  && node prisma/generate.mjs \
  && npm cache clean --force

COPY apps/ ./apps/
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
CMD ["node", "apps/cli/bin/countersign.js", "serve"]
