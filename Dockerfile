# One image for every Ferry service; the command picks the service:
#   docker run ferry services/uploader/dist/main.js
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages/common/package.json packages/common/
COPY packages/testkit/package.json packages/testkit/
COPY packages/local/package.json packages/local/
COPY services/watcher/package.json services/watcher/
COPY services/uploader/package.json services/uploader/
COPY services/scheduler/package.json services/scheduler/
COPY services/monitor/package.json services/monitor/
COPY services/gateway/package.json services/gateway/
COPY tests/e2e/package.json tests/e2e/
RUN npm ci --no-audit --no-fund
COPY packages packages
COPY services services
RUN npx turbo run build --filter='./services/*' \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
# pg_dump/pg_restore for the scheduler's backups; same major version as the server.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=node:node /app/node_modules node_modules
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/packages packages
COPY --from=build --chown=node:node /app/services services
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps"]
CMD ["services/gateway/dist/main.js"]
