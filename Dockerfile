# One image for every Ferry service; the command picks the service:
#   docker run ferry services/uploader/dist/main.js
# Node 26 is the Active LTS line (since October 2026); bookworm keeps postgresql-client-15,
# the same major version as the Compose PostgreSQL (pg_dump must not be older).
ARG NODE_IMAGE=node:26-bookworm-slim

# Only the package manifests, so the dependency layer below is rebuilt when they change,
# not at every change of the code (and new workspaces need no edit here).
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY . .
RUN find . -path ./node_modules -prune -o -type f ! -name package.json ! -name package-lock.json -print0 | xargs -0 rm -f \
 && find . -depth -type d -empty -delete

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /app ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx turbo run build --filter='./services/*' \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# Production dependencies only (pruned above); the workspaces' code and build output.
COPY --from=build --chown=node:node /app/node_modules node_modules
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/packages packages
COPY --from=build --chown=node:node /app/services services
# The health check, and the schema migration with the database grants (Compose `migrate`).
COPY --chown=node:node deploy/healthcheck.mjs deploy/
COPY --chown=node:node deploy/postgres deploy/postgres
# The `node` user of the base image (uid 1000): no service needs root.
USER node
# /metrics on METRICS_PORT, else the gateway's /health on PORT (deploy/healthcheck.mjs).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/deploy/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps"]
CMD ["services/gateway/dist/main.js"]
