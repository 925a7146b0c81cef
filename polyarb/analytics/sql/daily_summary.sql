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
      AND name = 'frame_latency_ns'
),
u AS (
    -- connected_intervals (view_uptime.sql) clipped to the day: time-weighted uptime
    SELECT
        connected,
        greatest(0, least(to_ns, $day_end) - greatest(from_ns, $day_start)) AS ns
    FROM connected_intervals
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND from_ns < $day_end AND to_ns > $day_start
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
    (SELECT 100.0 * sum(CASE WHEN connected THEN ns ELSE 0 END) / nullif(sum(ns), 0) FROM u)
        AS uptime_pct,
    (SELECT coalesce(sum(ns), 0) / 1e9 FROM u) AS uptime_observed_s,
    (SELECT count(*) FROM a WHERE level = 'CRITICAL') AS alerts_critical,
    (SELECT count(*) FROM a WHERE level = 'WARNING') AS alerts_warning,
    (SELECT count(*) FROM a WHERE level = 'INFO') AS alerts_info;
