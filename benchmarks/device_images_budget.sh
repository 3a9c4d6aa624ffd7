#!/usr/bin/env bash
# The 28x28 uplift with a fixed, long CNN budget in every arm (issue 19), on a GPU machine, in one command:
# 10 real digits per class, classic vs classic + synthetic (10 per real one, the generator trained 3000 steps of 64
# on each draw's real and classic digits, 2x drawn and the surest half kept), the CNN trained for exactly
# CS Adam steps in both arms (instead of 60 passes over its own training set), scored on the test set and, with
# the same draws and synthetic digits, on validation images from the training pool (--validate).
# Each repeat of each is its own process (10 in parallel, one torch thread each), under its own timeout.
#
#     OUT=/some/folder CS=8000 benchmarks/device_images_budget.sh     # after installing the wheels (device_images.sh)
#
# Settings (environment): CS the CNN's steps (8000), GS the generator's steps (3000), DS the data set (mnist5k),
# DEV (cuda), LIM seconds per process (420), R the last repeat (4), BI the work folder (/tmp/bi), CACHE a folder
# holding work/synth_cache from an earlier run with the same generator settings (its synthetic digits are reused;
# absent: the generators are fitted here, about 100 s more per repeat on an H100).
# A CPU check: DS=digits GS=5 CS=20 DEV=cpu R=0 OUT=/tmp/o benchmarks/device_images_budget.sh
set -u
OUT=${OUT:?set OUT to the folder for the results}
DS=${DS:-mnist5k}; GS=${GS:-3000}; CS=${CS:-8000}; DEV=${DEV:-cuda}; LIM=${LIM:-420}; R=${R:-4}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 SIMULACRA_BENCH_IMAGES_DIR=${BI:-/tmp/bi}
B=$SIMULACRA_BENCH_IMAGES_DIR
mkdir -p "$B/work" "$B/logs" "$OUT"
[ -n "${CACHE:-}" ] && cp -r "$CACHE/work/synth_cache" "$B/work/"
python3 -c "import sys; sys.path.insert(0, 'benchmarks'); import bench_images as b; print(b.dataset_folders('$DS'))" || exit 1
C=(benchmarks/bench_images.py uplift --dataset "$DS" --model diffusion --epochs 60 --on-classic --oversample 2
   --synth-per-image 10 --methods classic,classic+synth --repeats $((R + 1)) --threads 1 --device "$DEV"
   --params "{\"steps\":$GS,\"batch_size\":64}" --classifier-steps "$CS" --tag "gpu_g3k_cs$CS")
t0=$SECONDS
for r in $(seq 0 "$R"); do
    timeout -k 5 "$LIM" python3 "${C[@]}" --only "$r" > "$B/logs/t$r.txt" 2>&1 &
    timeout -k 5 "$LIM" python3 "${C[@]}" --validate --only "$r" > "$B/logs/v$r.txt" 2>&1 &
done
wait
echo "all ended at $((SECONDS - t0))s"
tail -n 2 "$B"/logs/*.txt
python3 "${C[@]}" --collect --partial
python3 "${C[@]}" --validate --collect --partial
cd "$B" && tar czf "$OUT/r2.tgz" $(ls -d results figures logs work/parts work/*.html 2>/dev/null)
