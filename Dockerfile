# The product's image: the worker, the commit watcher and the `ct` CLI, compiled, with only the
# product's runtime dependencies (the emulators have an image of their own: emulators/Dockerfile).
#   docker build -t continuous-training .
#   docker run --env-file .env continuous-training                       # the worker (default)
#   docker run --env-file .env continuous-training ct watch --config /app/config/pipelines.yaml
# No secret is baked in: every connection setting comes from the environment at run time.

# The workspace manifests: npm ci checks the lock file against all of them, and installs only what the
# workspace named with -w needs.
FROM node:24-bookworm-slim AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY api-types/package.json api-types/
COPY product/package.json product/
COPY emulators/package.json emulators/
COPY stack/package.json stack/
COPY bench/package.json bench/

# Build stage: the product compiled to JavaScript and its workflow bundle (`npm run build` in product/), so
# it runs on plain node without a TypeScript loader or webpack in its memory. Only product/build is kept.
FROM manifests AS build
RUN npm ci -w continuous-training --include-workspace-root --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY api-types/ api-types/
COPY product/ product/
RUN npm run build -w continuous-training

FROM manifests

# git: the worker fetches experiment code with the git CLI. tini: PID 1 that forwards signals (so the
# worker's SIGTERM graceful shutdown works) and reaps the git child processes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    CT_CACHE_DIR=/home/node/.cache/ct

# The product's runtime dependencies only (not the emulators', the stack's or the dev tools).
RUN npm ci -w continuous-training --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force

# The compiled worker, CLI and watcher, and the workflow bundle built from the same source: the worker
# loads the bundle (CT_WORKFLOW_BUNDLE) instead of running webpack at every start (bench/RESULTS.md).
COPY --from=build /app/product/build ./product/build
COPY config/ ./config/
ENV CT_WORKFLOW_BUNDLE=/app/product/build/workflow-bundle.js
RUN chmod +x product/build/client/cli.js && ln -s /app/product/build/client/cli.js /usr/local/bin/ct

RUN mkdir -p /home/node/.cache/ct && chown -R node:node /home/node/.cache

# The node image's unprivileged user (uid 1000).
USER node
WORKDIR /app/product

ENTRYPOINT ["/usr/bin/tini", "--"]
# The worker, as `npm run worker:compiled` starts it: a small young generation keeps the garbage of
# streaming a large checkpoint from piling up before V8 collects it (1 GiB publish: 245 -> 177 MiB peak).
CMD ["node", "--max-semi-space-size=2", "build/worker/main.js"]
