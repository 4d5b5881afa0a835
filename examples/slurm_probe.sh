#!/bin/bash
# Probe one study on N Slurm array tasks, one shard database each, then merge.
#
#   sbatch --array=0-7 examples/slurm_probe.sh study.yaml
#   # after all tasks finish:
#   trajprobe merge shards/study-*.sqlite --db study.sqlite
#
# `--shard auto` reads SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) and
# SLURM_ARRAY_TASK_COUNT: every (clip, arm, step, seed) unit lands in exactly one shard
# (FNV-1a-64 of the unit key mod COUNT), so tasks share nothing but the config. A task that is
# preempted and requeued resumes its own database, skipping finished units.
#SBATCH --job-name=trajprobe
#SBATCH --cpus-per-task=16
#SBATCH --mem=32G
#SBATCH --time=04:00:00
#SBATCH --output=logs/trajprobe-%A_%a.out
#SBATCH --requeue
set -euo pipefail

CONFIG=${1:?usage: sbatch --array=0-N examples/slurm_probe.sh study.yaml}
mkdir -p shards logs
exec trajprobe probe "$CONFIG" --shard auto \
    --db "shards/$(basename "$CONFIG" .yaml)-${SLURM_ARRAY_TASK_ID}.sqlite"
