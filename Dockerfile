# One image for the six services; compose.yaml picks the service with `aap serve NAME`.
# The console's DSFR files, pinned and checked against package-lock.json's integrity hashes by npm ci.
FROM node:20-slim AS assets
WORKDIR /assets
COPY services/console/package.json services/console/package-lock.json ./
RUN npm ci --ignore-scripts --omit=dev --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY aap_contract ./aap_contract
COPY aap_platform ./aap_platform
COPY services ./services
COPY aap ./aap
COPY config ./config
COPY --from=assets /assets/node_modules/@gouvfr/dsfr/dist /app/vendor/dsfr
RUN pip install --no-cache-dir . && useradd --system --uid 10001 aap && mkdir -p /var/lib/aap && chown aap /var/lib/aap
USER aap
ENV AAP_DATA_DIR=/var/lib/aap AAP_CALLS_DIR=/app/config/calls AAP_CONSOLE_DSFR_DIR=/app/vendor/dsfr
EXPOSE 8000
CMD ["aap", "serve", "intake", "--host", "0.0.0.0", "--port", "8000"]
