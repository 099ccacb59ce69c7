# Gatehouse's production image: granian (web, config/server.py), Celery worker and Celery beat all run from it;
# compose.yaml picks the command. Dependencies come from the hash-checked lock file.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin gatehouse
WORKDIR /app

# The lock file alone first, so changing code does not reinstall every dependency.
COPY requirements/main.txt requirements/main.txt
RUN python -m pip install --require-hashes -r requirements/main.txt

COPY . .

# collectstatic runs on the embedded default (no DATABASE_URL), which needs no secrets but generates
# throwaway ones into its var/ folder: build in a scratch folder, keep only the static files, and
# leave no generated key in the image. At run time var/ is /app/var (STATIC_ROOT is var/static).
RUN GATEHOUSE_VAR_DIR=/tmp/build python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var \
    && mv /tmp/build/static /app/var/static \
    && rm -rf /tmp/build \
    && chown gatehouse:gatehouse /app/var

USER gatehouse
EXPOSE 8000

# Production refuses to start without DATABASE_URL's companions SECRET_KEY and GATEHOUSE_ENCRYPTION_KEYS.
# Workers: WEB_CONCURRENCY (1), threads each: WEB_THREADS (2); the access log goes to standard output.
CMD ["python", "-m", "config.server", "--host", "0.0.0.0", "--port", "8000"]
