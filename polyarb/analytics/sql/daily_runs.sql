-- The runs a daily report covers: runs in the given modes whose span touches the UTC day
-- [$day_start, $day_end), with their PnL (realised + marked) for that day: the last total
-- before the day ends minus the last total before it began (0 for a run that began that day).
CREATE OR REPLACE TEMP TABLE day_runs AS
WITH r AS (
    SELECT session_id, run_id, mode, profile_name
    FROM runs
    WHERE list_contains($modes, mode)
      AND first_recv_ns < $day_end AND last_recv_ns > $day_start
),
p AS (
    SELECT p.session_id, p.run_id, p.ts_ns, p.seq, p.realised_pnl + p.marked_pnl AS total
    FROM pnl AS p
    WHERE (p.session_id, p.run_id) IN (SELECT (session_id, run_id) FROM r)
      AND p.ts_ns < $day_end
)
SELECT
    r.*,
    coalesce((SELECT arg_max(total, (ts_ns, seq)) FROM p
        WHERE p.session_id = r.session_id AND p.run_id = r.run_id), 0)
    - coalesce((SELECT arg_max(total, (ts_ns, seq)) FROM p
        WHERE p.session_id = r.session_id AND p.run_id = r.run_id AND p.ts_ns < $day_start), 0)
        AS day_pnl
FROM r;
