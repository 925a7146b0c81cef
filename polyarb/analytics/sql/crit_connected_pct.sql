-- Share of ticks on which the market WebSocket was connected (metric "connected", 0/1 per
-- tick). Ticks come at a fixed cadence, so the share of ticks is the share of time.
WITH m AS (
    SELECT value
    FROM metrics
    WHERE name = 'connected'
      AND (session_id, run_id) IN (SELECT (session_id, run_id) FROM scope_runs)
),
agg AS (
    SELECT 100.0 * avg(CASE WHEN value > 0 THEN 1 ELSE 0 END) AS pct, count(*) AS ticks FROM m
)
SELECT
    pct AS value,
    CASE WHEN pct IS NULL THEN 'no data' ELSE printf('%.2f %%', pct) END AS shown,
    coalesce(pct >= $threshold, false) AS ok,
    CASE WHEN ticks = 0 THEN 'no "connected" metrics in the runs in scope'
        ELSE printf('%d ticks', ticks) END AS detail
FROM agg;
