-- Cumulative PnL through the day, all runs of day_runs summed: each pnl row contributes its
-- change since the run's previous row (or since the run's last total before the day).
WITH p AS (
    SELECT session_id, run_id, ts_ns, seq, realised_pnl + marked_pnl AS total
    FROM pnl
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND ts_ns < $day_end
),
steps AS (
    SELECT ts_ns, seq,
        total - coalesce(lag(total) OVER (PARTITION BY session_id, run_id ORDER BY ts_ns, seq), 0)
            AS delta
    FROM p
)
SELECT
    ts_ns,
    sum(delta) OVER (ORDER BY ts_ns, seq ROWS UNBOUNDED PRECEDING)
        - (SELECT coalesce(sum(delta), 0) FROM steps WHERE ts_ns < $day_start) AS cum_pnl
FROM steps
WHERE ts_ns >= $day_start
ORDER BY ts_ns, seq;
