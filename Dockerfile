# Slim, non-root production image. Configuration comes from CITYGATE_* environment variables.
FROM python:3.11-slim AS build
WORKDIR /app
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r requirements.txt

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    CITYGATE_ENV=production CITYGATE_HOST=0.0.0.0 CITYGATE_PORT=8080
RUN useradd --system --uid 10001 --home /app citygate
WORKDIR /app
COPY --from=build /venv /venv
COPY --chown=citygate:citygate config config
COPY --chown=citygate:citygate server server
COPY --chown=citygate:citygate handlers handlers
COPY --chown=citygate:citygate models models
COPY --chown=citygate:citygate integrations integrations
COPY --chown=citygate:citygate data data
USER citygate
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
STOPSIGNAL SIGTERM
CMD ["python", "-m", "server"]
