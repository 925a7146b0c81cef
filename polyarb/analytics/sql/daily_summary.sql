-- The headline numbers of one UTC day over day_runs (daily_runs.sql).
WITH d AS (
    SELECT * FROM decisions
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND recv_ns >= $day_start AND recv_ns < $day_end
),
o AS (
    SELECT * FROM orders
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND submit_ns >= $day_start AND submit_ns < $day_end
),
f AS (
    SELECT * FROM fills
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND ts_ns >= $day_start AND ts_ns < $day_end
),
m AS (
    SELECT name, value FROM metrics
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND ts_ns >= $day_start AND ts_ns < $day_end
      AND name IN ('frame_latency_ns', 'connected')
),
a AS (
    SELECT level FROM alerts
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND ts_ns >= $day_start AND ts_ns < $day_end AND state = 'fired'
)
SELECT
    (SELECT count(*) FROM day_runs) AS runs,
    (SELECT coalesce(sum(day_pnl), 0) FROM day_runs)::BIGINT AS pnl,
    (SELECT count(*) FROM d WHERE type = 'opportunity') AS opportunities,
    (SELECT count(*) FROM o) AS orders,
    (SELECT count(*) FROM o WHERE filled_size > 0) AS filled_orders,
    (SELECT count(*) FROM f) AS fills,
    (SELECT coalesce(sum(fee), 0) FROM f)::BIGINT AS fees,
    (SELECT quantile_cont(value, 0.5) / 1e6 FROM m WHERE name = 'frame_latency_ns') AS latency_p50_ms,
    (SELECT quantile_cont(value, 0.95) / 1e6 FROM m WHERE name = 'frame_latency_ns') AS latency_p95_ms,
    (SELECT quantile_cont(value, 0.99) / 1e6 FROM m WHERE name = 'frame_latency_ns') AS latency_p99_ms,
    (SELECT count(*) FROM m WHERE name = 'frame_latency_ns') AS latency_samples,
    (SELECT 100.0 * avg(CASE WHEN value > 0 THEN 1 ELSE 0 END) FROM m WHERE name = 'connected')
        AS uptime_pct,
    (SELECT count(*) FROM m WHERE name = 'connected') AS ticks,
    (SELECT count(*) FROM a WHERE level = 'CRITICAL') AS alerts_critical,
    (SELECT count(*) FROM a WHERE level = 'WARNING') AS alerts_warning,
    (SELECT count(*) FROM a WHERE level = 'INFO') AS alerts_info;
