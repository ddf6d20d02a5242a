# syntax=docker/dockerfile:1
#
# chinchilla-lab on an NVIDIA GPU.
#
# @tensorflow/tfjs-node-gpu 4.x runs libtensorflow 2.9.1, which needs CUDA 11.2 and cuDNN 8.1
# (it dlopen()s libcudart.so.11.0, libcublas.so.11, ..., libcudnn.so.8; CUDA 12 / cuDNN 9 will not do).
# The base image below provides exactly those; the host only needs an NVIDIA driver >= 450.80.02
# and the NVIDIA Container Toolkit.
#
#   docker build -t chinchilla-lab .        # needs internet: Node.js, npm packages, libtensorflow
#   docker run --rm --gpus all chinchilla-lab doctor
#   docker run --rm --gpus all -v chinchilla-runs:/app/runs -v chinchilla-data:/app/data chinchilla-lab
#
# NVIDIA deletes end-of-life tags from Docker Hub from time to time. If this one is gone, any
# CUDA 11.x "cudnn8-runtime" tag works the same (the sonames are shared by all 11.x releases):
#   docker build --build-arg CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 -t chinchilla-lab .
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

# ---- Node.js 20 on the CUDA runtime -------------------------------------------------------
FROM ${CUDA_IMAGE} AS base
# Node 20 ships npm 10, which runs dependencies' install scripts (tfjs-node-gpu's downloads
# libtensorflow). With npm >= 11 make sure the install-script policy allows
# @tensorflow/tfjs-node-gpu (package.json "allowScripts", or `npm approve-scripts`).
ARG NODE_VERSION=20.18.1
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl xz-utils \
 && rm -rf /var/lib/apt/lists/* \
 && curl -fsSLO "https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz" \
 && curl -fsSL "https://nodejs.org/dist/v${NODE_VERSION}/SHASUMS256.txt" \
      | grep " node-v${NODE_VERSION}-linux-x64.tar.xz\$" | sha256sum -c - \
 && tar -xJf "node-v${NODE_VERSION}-linux-x64.tar.xz" -C /usr/local --strip-components=1 --no-same-owner \
 && rm "node-v${NODE_VERSION}-linux-x64.tar.xz" \
 && node --version && npm --version

# ---- dependencies (with build tools in case the prebuilt tfjs addon cannot be fetched) ------
FROM base AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall builds the native products for the wasm backend (src/model/kernels/native) with g++'s gcc
COPY src/model/kernels/native ./src/model/kernels/native/
# Optional dependencies fail silently, so check that the GPU package got its native parts.
RUN npm ci --omit=dev --no-audit --no-fund \
 && ls node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow.so* \
 && ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node
COPY . .

# ---- runtime -------------------------------------------------------------------------------
FROM base
RUN groupadd --gid 1000 chinchilla \
 && useradd --uid 1000 --gid chinchilla --create-home --shell /bin/bash chinchilla
WORKDIR /app
COPY --from=build --chown=chinchilla:chinchilla /app /app
RUN mkdir -p /app/runs /app/data \
 && chown chinchilla:chinchilla /app/runs /app/data \
 && ln -s /app/bin/chinchilla.js /usr/local/bin/chinchilla
# TensorFlow's C++ log: 1 hides INFO lines, keeps warnings such as "Could not load dynamic library".
ENV TF_CPP_MIN_LOG_LEVEL=1
USER chinchilla
# Run outputs and the dataset/tokenizer cache live outside the image.
VOLUME ["/app/runs", "/app/data"]
ENTRYPOINT ["chinchilla"]
CMD ["sweep", "configs/sweep.json", "--backend", "tensorflow-gpu"]
