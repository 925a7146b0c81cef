-- Every alert row of the day, for the timeline and the per-rule table.
SELECT ts_ns, rule, level, state, coalesce(message, '') AS message, session_id, run_id
FROM alerts
WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM day_runs)
  AND ts_ns >= $day_start AND ts_ns < $day_end
ORDER BY ts_ns, seq, rule;
