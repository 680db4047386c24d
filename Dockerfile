# One image for the five services; compose.yaml picks the service with `aap serve NAME`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY aap_contract ./aap_contract
COPY aap_platform ./aap_platform
COPY services ./services
COPY aap ./aap
COPY config ./config
RUN pip install --no-cache-dir . && useradd --system --uid 10001 aap && mkdir -p /var/lib/aap && chown aap /var/lib/aap
USER aap
ENV AAP_DATA_DIR=/var/lib/aap AAP_CALLS_DIR=/app/config/calls
EXPOSE 8000
CMD ["aap", "serve", "intake", "--host", "0.0.0.0", "--port", "8000"]
