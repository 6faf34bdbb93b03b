# meshchat: the broker (and the CLI) in a small image that runs as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY package package
COPY wire wire
COPY mesh mesh
COPY broker broker
COPY cli cli
# [all]: the broker's Redis backplane, and the terminal app for `docker compose run`.
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[all]'

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin meshchat
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels 'meshchat[all]' && rm -rf /wheels
USER meshchat
EXPOSE 8765
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=2)"
CMD ["meshchat", "broker", "--host", "0.0.0.0", "--port", "8765"]
