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
i AS (
    SELECT from_ns, to_ns, connected FROM connected_intervals
    WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
      AND from_ns < $day_end AND to_ns > $day_start
),
c AS (
    -- connected_intervals (view_uptime.sql) clipped to each hour: time-weighted uptime
    SELECT hour,
        100.0 * sum(CASE WHEN connected THEN ns ELSE 0 END) / nullif(sum(ns), 0) AS uptime_pct
    FROM (
        SELECT hours.hour, i.connected,
            least(i.to_ns, $day_start + (hours.hour + 1) * 3600000000000)
                - greatest(i.from_ns, $day_start + hours.hour * 3600000000000) AS ns
        FROM hours JOIN i
            ON i.from_ns < $day_start + (hours.hour + 1) * 3600000000000
            AND i.to_ns > $day_start + hours.hour * 3600000000000
    )
    GROUP BY hour
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
