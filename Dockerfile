# One image for web, worker and beat:
#   web:    gunicorn commandcenter.wsgi:application --bind 0.0.0.0:8000
#   worker: celery -A commandcenter worker -l info
#   beat:   celery -A commandcenter beat -l info

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements-prod.lock /tmp/requirements-prod.lock
RUN /venv/bin/pip install --require-hashes -r /tmp/requirements-prod.lock

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --create-home --uid 10001 commandcenter
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=commandcenter:commandcenter . /app
# collectstatic needs settings but no database, Redis or secret: it runs embedded.
RUN python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R commandcenter:commandcenter /app/staticfiles
USER commandcenter
EXPOSE 8000
CMD ["gunicorn", "commandcenter.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
