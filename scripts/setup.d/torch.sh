#!/usr/bin/env bash
# CPU PyTorch for the deep extras (images, train, the diffusion table model), installed before them:
# pip would otherwise pull a CUDA build of several GB when a package asks for torch. 2.13.0 is the
# CPU wheel this machine kind keeps on disk. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/../.."
if .venv/bin/python -c "import torch" 2>/dev/null; then
    exit 0
fi
.venv/bin/python -m pip install --quiet "torch==2.13.0"
echo "torch: $(.venv/bin/python -c 'import torch; print(torch.__version__)') installed"
