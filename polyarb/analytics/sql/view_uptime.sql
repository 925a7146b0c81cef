-- WebSocket uptime, time-weighted: the one definition promote-check (crit_connected_pct),
-- the daily report (daily_summary, daily_hourly) and the dashboard read.
-- The engine writes a "connected" metric row only when the tick's connection count changes
-- (runs/schema.py), so averaging rows is wrong (1, 0, 1 for a 1 s reconnect in 60 s reads
-- 67 %). Each row holds from its ts_ns until the run's next "connected" row, the last one
-- until the run's last_recv_ns: connected time / observed time. Time before a run's first
-- tick is not observed. "Connected" is value > 0 (at least one connection up).
CREATE OR REPLACE VIEW connected_intervals AS
SELECT
    m.session_id,
    m.run_id,
    m.ts_ns AS from_ns,
    coalesce(
        lead(m.ts_ns) OVER (PARTITION BY m.session_id, m.run_id ORDER BY m.ts_ns, m.seq),
        greatest(r.last_recv_ns, m.ts_ns),
        m.ts_ns
    ) AS to_ns,
    m.value > 0 AS connected
FROM metrics AS m
LEFT JOIN runs AS r USING (session_id, run_id)
WHERE m.name = 'connected';

CREATE OR REPLACE VIEW run_uptime AS
SELECT
    session_id,
    run_id,
    sum(to_ns - from_ns)::BIGINT AS observed_ns,
    sum(CASE WHEN connected THEN to_ns - from_ns ELSE 0 END)::BIGINT AS connected_ns,
    100.0 * sum(CASE WHEN connected THEN to_ns - from_ns ELSE 0 END)
        / nullif(sum(to_ns - from_ns), 0) AS connected_pct,
    count(*) AS changes
FROM connected_intervals
GROUP BY session_id, run_id;
