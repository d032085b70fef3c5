#!/usr/bin/env bash
# Cold start of `diary` (freshly enrolled participant) to "Day 1 of" on screen, against a minimal
# Textual app timed the same way in the same run; then the app's resident memory on its home screen.
# Usage: bench/startup.sh [RUNS]   (needs tmux and ../shared/tools/tui_start.sh; venv active)
set -euo pipefail
RUNS=${1:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
TOOL=${TUI_START:-$HERE/../../shared/tools/tui_start.sh}
[ -x "$TOOL" ] || TOOL=/work/shared/tools/tui_start.sh
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
export DIARY_NOW=2026-03-02T19:00
diary --data-dir "$DATA/d" enroll --participant BENCH --start 2026-03-02 >/dev/null
PY=$(command -v python)
DIARY=$(command -v diary)

export TUI_WARMUP=${TUI_WARMUP:-2}
floor=$(bash "$TOOL" "$RUNS" "Day 1 of" -- "$PY" "$HERE/tui_floor.py" | tee /dev/stderr | sed -n 's/^median_s=//p')
app=$(bash "$TOOL" "$RUNS" "Day 1 of" -- "$DIARY" --data-dir "$DATA/d" | tee /dev/stderr | sed -n 's/^median_s=//p')

# Resident memory: start the app in a private tmux, wait for home, read VmRSS of the python process.
SOCK="$DATA/tmux.sock"
tmux -S "$SOCK" -f /dev/null new-session -d -s rss -x 80 -y 24 "exec $DIARY --data-dir $DATA/d"
for _ in $(seq 200); do
    tmux -S "$SOCK" capture-pane -p -t rss | grep -q "Day 1 of" && break
    sleep 0.05
done
sleep 1
pid=$(tmux -S "$SOCK" display-message -p -t rss '#{pane_pid}')
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
tmux -S "$SOCK" kill-server
awk -v a="$app" -v f="$floor" -v r="$rss_kb" 'BEGIN {
    printf "app_median_s=%.3f floor_median_s=%.3f ratio=%.2f rss_mb=%.1f\n", a, f, a / f, r / 1024 }'
