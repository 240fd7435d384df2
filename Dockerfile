# One image for the worker, the commit watcher, the CLI and the emulators.
#   docker build -t continuous-training .
#   docker run --env-file .env continuous-training                       # the worker (default)
#   docker run --env-file .env continuous-training npx tsx client/cli.ts watch --config config/pipelines.example.yaml
# No secret is baked in: every connection setting comes from the environment at run time.

# Build stage: the worker compiled to JavaScript and its workflow bundle (`npm run build:worker`), so it
# runs on plain node without the tsx loader or webpack in its memory. Nothing else of this stage is kept.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run build:worker

FROM node:20-bookworm-slim

# git: the worker fetches experiment code with the git CLI. tini: PID 1 that forwards signals (so the
# worker's SIGTERM graceful shutdown works through npx/tsx) and reaps the git child processes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    CT_CACHE_DIR=/home/node/.cache/ct

# Dependencies first, so code changes do not reinstall them. tsx is a runtime dependency: the watcher,
# the CLI and the emulators run their TypeScript entry points as they are.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force

COPY . .

# The compiled worker and its workflow bundle, built from this same source: the worker loads the bundle
# (CT_WORKFLOW_BUNDLE) instead of running webpack at every start. See bench/RESULTS.md for the memory.
COPY --from=build /app/build ./build
ENV CT_WORKFLOW_BUNDLE=/app/build/workflow-bundle.js

# Directories the named volumes of docker-compose.yml mount, owned by the unprivileged user so a fresh
# volume inherits that ownership.
RUN mkdir -p /home/node/.cache/ct /data/pachd /data/determined /data/seldon \
 && chown -R node:node /home/node/.cache /data

# The node image's unprivileged user (uid 1000).
USER node

ENTRYPOINT ["/usr/bin/tini", "--"]
# The worker, as `npm run worker:compiled` starts it: a small young generation keeps the garbage of
# streaming a large checkpoint from piling up before V8 collects it (1 GiB publish: 245 -> 177 MiB peak).
CMD ["node", "--max-semi-space-size=2", "build/worker/main.js"]
