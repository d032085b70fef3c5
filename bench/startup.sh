#!/usr/bin/env bash
# Cold start of `diary` to its home screen against a minimal Textual app timed the same way in the
# same run, round by round, with two histories: the ldn-fm study on its last day (97 days filed) and a 1,095-day
# study on its last day (1,094 days filed); then the app's resident memory on the longer one's home.
# Usage: bench/startup.sh [RUNS]   (needs tmux and ../shared/tools/tui_start.sh; venv active)
set -euo pipefail
RUNS=${1:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
TOOL=${TUI_START:-$HERE/../../shared/tools/tui_start.sh}
[ -x "$TOOL" ] || TOOL=/work/shared/tools/tui_start.sh
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
PY=$(command -v python)
DIARY=$(command -v diary)

# A diary with DAYS days of history: enrolled DAYS-1 days before the clock, every earlier day filed
# on time through the diary's own rules (Diary.entry + one save_all), today still open.
history() {  # history DIR DAYS [PROTOCOL_FILE]
    "$PY" - "$@" <<'EOF'
import sys
from datetime import date, datetime, timedelta
from diary_client.core import clock
from diary_client.device.diary import Diary
from diary_client.core.protocol import builtin_text, load_protocol_text, parse_protocol
from diary_client.core.schedule import span_on
from diary_client.device.store import Store

folder, days = sys.argv[1], int(sys.argv[2])
text = load_protocol_text(sys.argv[3]) if len(sys.argv) > 3 else builtin_text()
now = clock.now()
start = now.date() - timedelta(days=days - 1)
diary = Diary.enroll(Store.in_dir(folder), "BENCH", text, start)
entries = []
for k in range(days - 1):
    d = start + timedelta(days=k)
    phase = span_on(diary.protocol, start, d).phase.id
    answers = {i.id: ([] if i.kind == "multi" else True if i.kind == "yesno" else 40)
               for i in diary.protocol.items_in(phase) if not i.optional}
    at = datetime.combine(d, datetime.min.time(), now.tzinfo).replace(hour=19, minute=30)
    entries.append(diary.entry(d, answers, at, "on_time", "app"))
diary.store.save_all(entries)
EOF
}

# An install runs from byte code: compile it here, or with PYTHONDONTWRITEBYTECODE each start compiles it.
"$PY" -m compileall -q "$HERE/../diary_client" "$HERE/../sync" "$HERE/../analysis" >/dev/null
export DIARY_NOW=2026-06-07T19:00
# ldn-fm stretched to three years: 100 days baseline, 100 placebo, 795 drug, 100 washout.
"$PY" - "$DATA/long.toml" <<'EOF'
import sys
from diary_client.core.protocol import builtin_text
text = builtin_text()
for old, new in [('days = 14\nlabel = "Baseline"', 'days = 100\nlabel = "Baseline"'),
                 ('days = 14\nlabel = "Placebo"', 'days = 100\nlabel = "Placebo"'),
                 ('days = 56', 'days = 795'), ('days = 14\nlabel = "Washout"', 'days = 100\nlabel = "Washout"')]:
    assert old in text, old
    text = text.replace(old, new, 1)
open(sys.argv[1], "w").write(text)
EOF
history "$DATA/d98" 98
history "$DATA/d1095" 1095 "$DATA/long.toml"

# Interleaved: each round times the floor, then the app at 98 days, then at 1,095 days, one run
# each, so a change of load on a shared machine falls on all three alike; medians over the rounds.
one() { TUI_WARMUP=0 bash "$TOOL" 1 "$@" 2>/dev/null | sed -n 's/^median_s=//p'; }
for _ in 1 2; do  # warm-up: page cache, byte code, the day's backup copy
    one "Day 1 of" -- "$PY" "$HERE/tui_floor.py" >/dev/null
    one "Day 98 of" -- "$DIARY" --data-dir "$DATA/d98" >/dev/null
    one "Day 1095 of" -- "$DIARY" --data-dir "$DATA/d1095" >/dev/null
done
: >"$DATA/times"
for round in $(seq "$RUNS"); do
    f=$(one "Day 1 of" -- "$PY" "$HERE/tui_floor.py")
    a=$(one "Day 98 of" -- "$DIARY" --data-dir "$DATA/d98")
    b=$(one "Day 1095 of" -- "$DIARY" --data-dir "$DATA/d1095")
    echo "round $round: floor $f s, app at 98 days $a s, at 1,095 days $b s" >&2
    echo "$f $a $b" >>"$DATA/times"
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
floor=$(awk '{ print $1 }' "$DATA/times" | median)
app98=$(awk '{ print $2 }' "$DATA/times" | median)
app1095=$(awk '{ print $3 }' "$DATA/times" | median)

# Resident memory: start the app in a private tmux, wait for home, read VmRSS of the python process.
SOCK="$DATA/tmux.sock"
tmux -S "$SOCK" -f /dev/null new-session -d -s rss -x 80 -y 24 "exec $DIARY --data-dir $DATA/d1095"
for _ in $(seq 200); do
    tmux -S "$SOCK" capture-pane -p -t rss | grep -q "Day 1095 of" && break
    sleep 0.05
done
sleep 1
pid=$(tmux -S "$SOCK" display-message -p -t rss '#{pane_pid}')
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
tmux -S "$SOCK" kill-server
# The ratio is taken round by round (as bench_commands.py and `farm-bench --vs` pair a command with
# its floor): a round the machine ran slow falls on the floor and the app alike. The medians' own
# ratio is printed beside it (medians_ratio98/1095).
ratio98=$(awk '{ print $2 / $1 }' "$DATA/times" | median)
ratio1095=$(awk '{ print $3 / $1 }' "$DATA/times" | median)
awk -v a="$app98" -v b="$app1095" -v f="$floor" -v r="$rss_kb" -v q98="$ratio98" -v q1095="$ratio1095" 'BEGIN {
    printf "floor_median_s=%.3f app98_median_s=%.3f ratio98=%.2f app1095_median_s=%.3f ratio1095=%.2f rss_mb=%.1f\n",
           f, a, q98, b, q1095, r / 1024
    printf "medians_ratio98=%.2f medians_ratio1095=%.2f\n", a / f, b / f }'
