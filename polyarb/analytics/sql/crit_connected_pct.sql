-- WebSocket connected time / observed time over the runs in scope (time-weighted: see
-- view_uptime.sql, the one definition shared with the daily report and the dashboard).
WITH u AS (
    SELECT * FROM run_uptime
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM scope_runs)
),
agg AS (
    SELECT
        100.0 * sum(connected_ns) / nullif(sum(observed_ns), 0) AS pct,
        coalesce(sum(observed_ns), 0) AS observed_ns,
        count(*) AS runs
    FROM u
)
SELECT
    pct AS value,
    CASE WHEN pct IS NULL THEN 'no data' ELSE printf('%.2f %%', pct) END AS shown,
    coalesce(pct >= $threshold, false) AS ok,
    CASE WHEN runs = 0 THEN 'no "connected" metrics in the runs in scope'
        ELSE printf('%.0f s observed in %d runs', observed_ns / 1e9, runs) END AS detail
FROM agg;
