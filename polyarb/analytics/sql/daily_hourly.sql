-- Per UTC hour of the day: opportunities, orders, filled orders, fills, uptime.
WITH hours AS (
    SELECT range AS hour FROM range(24)
),
d AS (
    SELECT (recv_ns - $day_start) // 3600000000000 AS hour, count(*) AS n FROM decisions
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND recv_ns >= $day_start AND recv_ns < $day_end AND type = 'opportunity'
    GROUP BY 1
),
o AS (
    SELECT (submit_ns - $day_start) // 3600000000000 AS hour, count(*) AS n,
        count(*) FILTER (WHERE filled_size > 0) AS filled
    FROM orders
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND submit_ns >= $day_start AND submit_ns < $day_end
    GROUP BY 1
),
f AS (
    SELECT (ts_ns - $day_start) // 3600000000000 AS hour, count(*) AS n FROM fills
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND ts_ns >= $day_start AND ts_ns < $day_end
    GROUP BY 1
),
c AS (
    SELECT (ts_ns - $day_start) // 3600000000000 AS hour,
        100.0 * avg(CASE WHEN value > 0 THEN 1 ELSE 0 END) AS uptime_pct
    FROM metrics
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND ts_ns >= $day_start AND ts_ns < $day_end AND name = 'connected'
    GROUP BY 1
)
SELECT
    hours.hour,
    coalesce(d.n, 0) AS opportunities,
    coalesce(o.n, 0) AS orders,
    coalesce(o.filled, 0) AS filled_orders,
    coalesce(f.n, 0) AS fills,
    c.uptime_pct
FROM hours
LEFT JOIN d USING (hour) LEFT JOIN o USING (hour) LEFT JOIN f USING (hour) LEFT JOIN c USING (hour)
ORDER BY hours.hour;
