#!/usr/bin/env bash
# A `haven sweep` spread over a Slurm job array: each array task runs the
# shard its SLURM_ARRAY_TASK_ID names among the array's tasks (haven reads
# the ID, the first ID, the step and the count itself) and writes
# sweep-I-of-N.csv to a directory on the cluster's shared file system.
# Submitted without an array (`bash sweep-slurm.sh`), it submits itself as
# the array and, after it, one job that merges the shards with
# `haven report` into sweep.csv, its plots and report.html.
#
#   SCENARIO=scenarios/april4-failover.toml OUT=$HOME/sweeps/april4 \
#     bash deploy/sweep-slurm.sh --set advert_int=1,2,3 --seeds 1000
#
#SBATCH --job-name=haven-sweep
#SBATCH --array=1-8
#SBATCH --cpus-per-task=2
#SBATCH --output=haven-sweep-%A-%a.log
set -euo pipefail
HAVEN=${HAVEN:-haven}
: "${SCENARIO:?the scenario file, on the shared file system}"
: "${OUT:?the output directory, on the shared file system}"
if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
    array=$(sbatch --parsable --export=ALL "$0" "$@")
    sbatch --dependency="afterok:$array" --job-name=haven-sweep-report \
        --export=ALL --wrap "$HAVEN report '$OUT'"
    echo "submitted array $array; the report follows it into $OUT"
    exit 0
fi
exec "$HAVEN" sweep "$SCENARIO" --out "$OUT" --jobs "${SLURM_CPUS_PER_TASK:-1}" "$@"
