#!/usr/bin/env bash
# The 28x28 uplift runs of issue 19 on a GPU machine, in one command (what costs ~75 CPU-minutes each on the
# shared 2-core machine takes minutes on a GPU). Run from the repository root:
#
#     OUT=/some/folder benchmarks/device_images.sh
#
# E1 (gpu_mx_all): 10 real digits per class, classic vs classic + synthetic (10 per real one, 600 generator
#     steps), mixup (alpha 0.4) in EVERY arm (--levers-on all: the control of the 8x8 run's +1.9).
# E2 (gpu_gen3000): the same without mixup, with a generator trained 5x longer (3000 steps of 64).
# Each repeat is its own process (5 + 5 in parallel, one torch thread each) under its own timeout, and writes
# its part file when it ends, so a timeout keeps the repeats already done; then --collect makes each summary
# (JSON, HTML, figure) from the part files that are there.
#
# What comes back under $OUT: log.txt (everything printed) and results.tgz (results/*.json, figures/*.png,
# work/*.html, work/parts/*.json, logs/ (each process's output), and work/synth_cache/*.npz: every repeat's
# synthetic digits).
#
# Settings (environment): SMOKE=1 a CPU check of the whole script in a few minutes (8x8 digits, 1 repeat,
# 5 generator steps, 2 CNN epochs, --device cpu); PY the interpreter (python3); WHEELS the folder of wheels
# to install first (.whl; "none": install nothing); SITE where they go (/tmp/site); LIMIT the seconds each
# repeat may run (420); DEVICE (cuda; cpu under SMOKE).
set -u
OUT=${OUT:?set OUT to the folder for the results}
PY=${PY:-python3}
WHEELS=${WHEELS:-.whl}
SITE=${SITE:-/tmp/site}
SMOKE=${SMOKE:-0}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export SIMULACRA_BENCH_IMAGES_DIR=${SIMULACRA_BENCH_IMAGES_DIR:-/tmp/bench_images}
if [ "$SMOKE" = 1 ]; then
    DATASET=digits REPEATS=1 E1_STEPS=5 E2_STEPS=5 EPOCHS=2 DEVICE=${DEVICE:-cpu} LIMIT=${LIMIT:-600}
else
    DATASET=mnist5k REPEATS=5 E1_STEPS=600 E2_STEPS=3000 EPOCHS=60 DEVICE=${DEVICE:-cuda} LIMIT=${LIMIT:-420}
fi

main() {
    local t0=$SECONDS
    echo "== $(date -u +%FT%TZ) device_images.sh: dataset $DATASET, $REPEATS repeat(s), device $DEVICE, limit ${LIMIT}s"
    if [ "$WHEELS" != none ]; then
        rm -rf "$SITE"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
            "$WHEELS"/*.whl || { echo "wheel install failed"; return 1; }
        export PYTHONPATH="$SITE:src"
    else
        export PYTHONPATH="src"
    fi
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "(no nvidia-smi)"
    "$PY" - <<'EOF' || { echo "the environment is not ready: stopping"; return 1; }
import importlib.metadata as md, os, sys
import torch, diffusers, albumentations, mlxtend, simulacra.images  # noqa: F401
print("python", sys.version.split()[0], "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| GPU", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none", "| cpus", os.cpu_count())
print(", ".join(f"{d} {md.version(d)}" for d in ("numpy", "pandas", "diffusers", "albumentations", "pydantic", "mlxtend",
                                                  "huggingface_hub", "scikit-learn")))
EOF
    # the data set's PNG folders, written once before the parallel runs read them
    "$PY" -c "import sys; sys.path.insert(0, 'benchmarks'); import bench_images as b; print(b.dataset_folders('$DATASET'))" \
        || return 1
    local common=(uplift --dataset "$DATASET" --model diffusion --epochs "$EPOCHS" --on-classic --oversample 2
                  --synth-per-image 10 --methods classic,classic+synth --repeats "$REPEATS" --threads 1 --device "$DEVICE")
    local e1=("${common[@]}" --mix mixup --mix-alpha 0.4 --levers-on all --params "{\"steps\":$E1_STEPS,\"batch_size\":64}"
              --tag gpu_mx_all)
    local e2=("${common[@]}" --params "{\"steps\":$E2_STEPS,\"batch_size\":64}" --tag gpu_gen3000)
    local logs="$SIMULACRA_BENCH_IMAGES_DIR/logs" pids=() r
    mkdir -p "$logs"
    for r in $(seq 0 $((REPEATS - 1))); do
        timeout -k 10 "$LIMIT" "$PY" benchmarks/bench_images.py "${e1[@]}" --only "$r" > "$logs/e1_$r.txt" 2>&1 &
        pids+=($!)
        timeout -k 10 "$LIMIT" "$PY" benchmarks/bench_images.py "${e2[@]}" --only "$r" > "$logs/e2_$r.txt" 2>&1 &
        pids+=($!)
    done
    local pid
    for pid in "${pids[@]}"; do wait "$pid"; echo "process $pid ended with $? at $((SECONDS - t0))s"; done
    for r in $(seq 0 $((REPEATS - 1))); do
        for e in e1 e2; do echo "-- $e repeat $r (last lines)"; tail -n 4 "$logs/${e}_$r.txt"; done
    done
    echo "== summaries at $((SECONDS - t0))s"
    # (a repeat cut short by its timeout has no part file: the summary is then of the others, and says so)
    "$PY" benchmarks/bench_images.py "${e1[@]}" --collect --partial || echo "E1: no repeat finished"
    "$PY" benchmarks/bench_images.py "${e2[@]}" --collect --partial || echo "E2: no repeat finished"
    echo "== done at $((SECONDS - t0))s"
}

main 2>&1 | tee "$OUT/log.txt"
status=${PIPESTATUS[0]}
cd "$SIMULACRA_BENCH_IMAGES_DIR" \
    && tar czf "$OUT/results.tgz" $(ls -d results figures logs work/parts work/*.html work/synth_cache 2>/dev/null) \
    && echo "results.tgz: $(du -h "$OUT/results.tgz" | cut -f1)" | tee -a "$OUT/log.txt"
exit "$status"
