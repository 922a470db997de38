# One image for web, worker and beat (docker-compose.yml runs all three):
#   web:    gunicorn commandcenter.wsgi:application -c python:commandcenter.gunicorn_conf ...  (the default)
#   worker: celery -A commandcenter worker -l info
#   beat:   celery -A commandcenter beat -l info --schedule /tmp/celerybeat-schedule

# Build stage: the runtime dependencies only, pinned and hash-checked.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements-prod.lock /tmp/requirements-prod.lock
RUN /venv/bin/pip install --require-hashes -r /tmp/requirements-prod.lock

# Runtime stage: the venv and the code, nothing to compile with.
FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# JSON log lines with each request's id (docs/operations.md); LOG_FORMAT=plain for text.
ENV LOG_FORMAT=json
RUN useradd --system --create-home --uid 10001 commandcenter
COPY --from=build /venv /venv
WORKDIR /app
# The code stays owned by root: the service user can read it but not change it.
COPY . /app
# collectstatic needs settings but no database, Redis or secret: it runs embedded.
RUN python manage.py collectstatic --noinput --verbosity 0
USER commandcenter
EXPOSE 8000
# The limits and the JSON error answers are in commandcenter/gunicorn_conf.py, shared with
# `manage.py serve` and bench/run.sh.
CMD ["gunicorn", "commandcenter.wsgi:application", "-c", "python:commandcenter.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
