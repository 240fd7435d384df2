# One image for the worker, the commit watcher, the CLI and the emulators.
#   docker build -t continuous-training .
#   docker run --env-file .env continuous-training                       # the worker (default)
#   docker run --env-file .env continuous-training npx tsx client/cli.ts watch --config config/pipelines.example.yaml
# No secret is baked in: every connection setting comes from the environment at run time.
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

# Dependencies first, so code changes do not reinstall them. tsx is a runtime dependency: the
# TypeScript entry points run as they are, with no build step.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force

COPY . .

# The workflow bundle, built once here: the worker loads it (CT_WORKFLOW_BUNDLE) instead of running
# webpack at every start, which keeps ~90 MiB of webpack out of its memory. The image's workflows/ and
# this bundle can never disagree.
RUN npx tsx scripts/bundle-workflows.ts /app/build/workflow-bundle.js
ENV CT_WORKFLOW_BUNDLE=/app/build/workflow-bundle.js

# Directories the named volumes of docker-compose.yml mount, owned by the unprivileged user so a fresh
# volume inherits that ownership.
RUN mkdir -p /home/node/.cache/ct /data/pachd /data/determined /data/seldon \
 && chown -R node:node /home/node/.cache /data

# The node image's unprivileged user (uid 1000).
USER node

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["npx", "tsx", "worker/main.ts"]
