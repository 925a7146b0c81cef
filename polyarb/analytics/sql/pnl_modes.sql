-- Fill rate and latency per run mode: orders with any fill / orders, and the exact
-- p50/p95/p99 of frame_latency_ns in milliseconds; one run per session and mode
-- (counted_runs), so a session replayed twice does not count its orders twice.
WITH o AS (
    SELECT r.mode, count(*) AS orders, count(*) FILTER (WHERE o.filled_size > 0) AS filled
    FROM orders AS o JOIN counted_runs AS r USING (session_id, run_id) GROUP BY ALL
),
l AS (
    SELECT r.mode, count(*) AS samples,
        quantile_cont(m.value, 0.5) / 1e6 AS p50_ms,
        quantile_cont(m.value, 0.95) / 1e6 AS p95_ms,
        quantile_cont(m.value, 0.99) / 1e6 AS p99_ms
    FROM metrics AS m JOIN counted_runs AS r USING (session_id, run_id)
    WHERE m.name = 'frame_latency_ns' GROUP BY ALL
),
modes AS (SELECT DISTINCT mode FROM counted_runs)
SELECT modes.mode, coalesce(o.orders, 0) AS orders, coalesce(o.filled, 0) AS filled_orders,
    CASE WHEN o.orders > 0 THEN o.filled / o.orders END AS fill_rate,
    coalesce(l.samples, 0) AS latency_samples, l.p50_ms, l.p95_ms, l.p99_ms
FROM modes LEFT JOIN o USING (mode) LEFT JOIN l USING (mode)
ORDER BY modes.mode;
