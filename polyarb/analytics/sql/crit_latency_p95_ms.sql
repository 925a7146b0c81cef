-- P95 of receive → decision latency (metric frame_latency_ns) over every frame of every run
-- in scope, exact (quantile_cont), in milliseconds.
WITH agg AS (
    SELECT quantile_cont(value, 0.95) / 1e6 AS p95, quantile_cont(value, 0.5) / 1e6 AS p50,
        count(*) AS n
    FROM metrics
    WHERE name = 'frame_latency_ns'
      AND (session_id, run_id) IN (SELECT (session_id, run_id) FROM scope_runs)
)
SELECT
    p95 AS value,
    CASE WHEN p95 IS NULL THEN 'no data' ELSE printf('%.1f ms', p95) END AS shown,
    coalesce(p95 < $threshold, false) AS ok,
    CASE WHEN n = 0 THEN 'no frame_latency_ns metrics in the runs in scope'
        ELSE printf('%d frames, p50 %.1f ms', n, p50) END AS detail
FROM agg;
