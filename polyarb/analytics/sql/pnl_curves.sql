-- Cumulative PnL (realised + marked) over time per run mode, all runs of a mode summed.
-- Only sessions holding a run of every requested mode are included, so shadow and replay
-- curves cover the same recordings and can be laid over each other; one run per session
-- and mode (counted_runs), so a session replayed twice is not added twice.
WITH r AS (
    SELECT session_id, run_id, mode FROM counted_runs
    WHERE list_contains($modes, mode)
      AND session_id IN (
        SELECT session_id FROM counted_runs WHERE list_contains($modes, mode)
        GROUP BY session_id HAVING count(DISTINCT mode) = len($modes))
),
p AS (
    SELECT r.mode, p.session_id, p.run_id, p.ts_ns, p.seq, p.realised_pnl + p.marked_pnl AS total
    FROM pnl AS p JOIN r USING (session_id, run_id)
),
steps AS (
    SELECT mode, ts_ns, seq, session_id, run_id,
        total - coalesce(lag(total) OVER (PARTITION BY session_id, run_id ORDER BY ts_ns, seq), 0)
            AS delta
    FROM p
)
SELECT mode, ts_ns,
    sum(delta) OVER (PARTITION BY mode ORDER BY ts_ns, seq, session_id, run_id
        ROWS UNBOUNDED PRECEDING)::BIGINT AS cum_pnl
FROM steps
ORDER BY mode, ts_ns, seq, session_id, run_id;
