# The portal image. Rasa and the action server have their own images (see compose.yaml).
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY accounts ./accounts
COPY auction_listings ./auction_listings
COPY backoffice ./backoffice
COPY cases ./cases
COPY documents ./documents
COPY portal ./portal
COPY storage ./storage
COPY title_transfer ./title_transfer
COPY alembic.ini ./
# The Chinese catalogue is compiled here (the .mo files are build output, not in git).
RUN pip install "babel>=2.14" && pybabel compile -d portal/locales -D messages \
    && pip install . && useradd --system --uid 10001 portal && mkdir -p /app/var && chown portal /app/var
COPY --from=assets /app/node_modules ./node_modules
USER portal
EXPOSE 8000
# Migrations run once per deploy (the `migrate` service in compose.yaml), not per replica.
CMD ["uvicorn", "portal.asgi:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--workers", "2"]
