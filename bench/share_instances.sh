#!/bin/bash
# Two `portal serve` instances on one MariaDB database with 10,000 ping
# checks of loopback addresses (127.10.x.y) every 60 s: the share of each,
# probes per check per interval, and the gap when one is killed with -9.
# See docs/benchmarks.md, "Several instances". Needs root (ICMP) and the
# mysql client; PORTAL is the binary, DB a database name to (re)create.
set -eu
PORTAL=${PORTAL:-./portal} DB=${DB:-portal_share_bench} PORTS=${PORTS:-18101}
MYSQL="mysql -uroot -h127.0.0.1"
export PORTAL_DATABASE_URL=mysql://root@127.0.0.1:3306/$DB
export PORTAL_SECRET=share-bench-secret-0123456789abcdef PORTAL_LOG_LEVEL=info
WORK=$(mktemp -d)
Q() { $MYSQL "$DB" -N -e "$1"; }
held() { Q "SELECT GROUP_CONCAT(CONCAT(o,'=',n)) FROM (SELECT lease_owner o, COUNT(*) n FROM checks
  WHERE enabled AND lease_until > UTC_TIMESTAMP(3) GROUP BY lease_owner) x"; }
serve() { # serve NAME PORT: an instance with its own data directory and log
	mkdir -p "$WORK/$1"
	PORTAL_LISTEN=127.0.0.1:$2 PORTAL_DATA_DIR=$WORK/$1 "$PORTAL" serve >"$WORK/$1.log" 2>&1 &
	echo $!
}
watch() { for _ in $(seq 1 "$1"); do sleep "$2"; echo "$(date -u +%T) $(held)"; done; }

$MYSQL -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
PORTAL_DATA_DIR=$WORK "$PORTAL" migrate
PORTAL_DATA_DIR=$WORK "$PORTAL" org add --slug bench --name Bench
{
	echo org,name,address,cabinet,position,kind,target,interval
	for i in $(seq 0 9999); do
		a=127.10.$((i / 250)).$((i % 250 + 1))
		echo "bench,host-$i,$a,,,icmp,$a,60"
	done
} >"$WORK/checks.csv"
PORTAL_DATA_DIR=$WORK "$PORTAL" device import "$WORK/checks.csv"

echo "== phase 1: A alone, B joins after 40 s, both stopped with SIGTERM 4 min later"
T1=$(date -u '+%F %T')
A=$(serve a $PORTS); watch 8 5
B=$(serve b $((PORTS + 1))); echo "B joins at $(date -u +%T)"; watch 48 5
kill -TERM "$A" "$B"; wait "$A" "$B" || true
grep -h "prober stopped" "$WORK/a.log" "$WORK/b.log"
Q "SELECT 'results', COUNT(*) FROM probe_results WHERE at >= '$T1'"
Q "SELECT 'gap between results of a check (s)', gap, COUNT(*) FROM (SELECT TIMESTAMPDIFF(MICROSECOND,
  LAG(at) OVER (PARTITION BY check_id ORDER BY at), at) / 1e6 AS gap FROM probe_results WHERE at >= '$T1') x
  WHERE gap IS NOT NULL GROUP BY gap"

echo "== phase 2: A and B together, B killed with -9 after 2.5 min, A stopped 4 min later"
sleep 5
T2=$(date -u '+%F %T')
A=$(serve a $PORTS); B=$(serve b $((PORTS + 1))); watch 15 10
KILL=$(date -u '+%F %T.%3N'); kill -9 "$B"; echo "B killed at $KILL"
watch 45 2; watch 15 10
kill -TERM "$A"; wait "$A" || true
grep -h "sharing checks" "$WORK/a.log"
Q "SELECT 'leases taken over from B start, s after the kill: first', ROUND(TIMESTAMPDIFF(MICROSECOND, '$KILL',
  MIN(lease_from)) / 1e6, 1), 'last', ROUND(TIMESTAMPDIFF(MICROSECOND, '$KILL', MAX(lease_from)) / 1e6, 1), 'checks', COUNT(*)
  FROM checks WHERE lease_from > '$KILL'"
Q "SELECT 'gap between results of a check (s, rounded)', ROUND(gap), COUNT(*) FROM (SELECT TIMESTAMPDIFF(MICROSECOND,
  LAG(at) OVER (PARTITION BY check_id ORDER BY at), at) / 1e6 AS gap FROM probe_results WHERE at >= '$T2') x
  WHERE gap IS NOT NULL GROUP BY ROUND(gap) ORDER BY 2"
echo "logs and data: $WORK"
