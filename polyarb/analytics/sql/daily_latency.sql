-- Latency distribution of the day: counts per bin of log10(ms), 20 bins per decade.
SELECT
    floor(log10(greatest(value, 1) / 1e6) * 20) / 20 AS log10_ms,
    count(*) AS n
FROM metrics
WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
  AND ts_ns >= $day_start AND ts_ns < $day_end AND name = 'frame_latency_ns'
GROUP BY 1
ORDER BY 1;
