# syntax=docker/dockerfile:1
# NEXON image: `docker build -t nexon .`  (compose.yaml builds it too)
#   web    - the React UI built with Vite (web/ -> /web/dist)
#   build  - the nexon wheel, with the protobuf/grpclib stubs generated from protos/
#   runtime- slim Python, the wheel and the UI only, non-root, with a HEALTHCHECK

FROM node:22-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml setup.py README.md* ./
COPY protos/ protos/
COPY nexon/ nexon/
# setup.py's build_py runs protoc (grpcio-tools, a build requirement) into nexon/stubs.
RUN pip wheel --no-deps --wheel-dir /dist . \
 && python -c "import sys, zipfile, glob; names = zipfile.ZipFile(glob.glob('/dist/*.whl')[0]).namelist(); \
sys.exit(0 if 'nexon/stubs/nexon_inference_pb2.py' in names else 'wheel has no generated stubs')"

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN groupadd --system --gid 10001 nexon \
 && useradd --system --uid 10001 --gid nexon --home-dir /data --no-create-home --shell /usr/sbin/nologin nexon \
 && mkdir -p /data && chown nexon:nexon /data
COPY --from=build /dist/ /tmp/dist/
RUN pip install /tmp/dist/*.whl && rm -rf /tmp/dist
COPY --from=web /web/dist/ /opt/nexon/web/
# Listen on every interface inside the container. The store defaults to file://./nexon-data
# (under /data); NEXON_MONGO_URI or NEXON_STORE select another one at run time.
ENV NEXON_HTTP_BIND=0.0.0.0:8000 \
    GRPC_BIND=0.0.0.0:50051 \
    NEXON_WEB_DIR=/opt/nexon/web \
    NEXON_ENVOY_URL=http://localhost:8080 \
    NEXON_ENVOY_GRPC=localhost:8080
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["nexon"]
CMD ["serve"]
