# cauce: one process serving the API with its scheduler. SQLite in /app/var by default;
# set CAUCE_DATABASE_URL=postgresql://… for the multi-worker deployment.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CAUCE_HOST=0.0.0.0 CAUCE_PORT=8000
WORKDIR /app

COPY setup.cfg pyproject.toml README.md ./
COPY api ./api
COPY engine ./engine
COPY handlers ./handlers
RUN pip install --no-cache-dir -e .

COPY alembic.ini ./
COPY migrations ./migrations
COPY bpmn ./bpmn

RUN useradd --system --create-home cauce && mkdir -p /app/var && chown cauce /app/var
USER cauce
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Migrate, deploy every diagram (unchanged ones are skipped), serve with gunicorn.
CMD ["cauce", "run"]
