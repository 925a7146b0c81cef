-- Circuit breaker cycles: a CIRCUIT_BREAKER_OPEN "fired" row whose next row of that rule in
-- the same run is "cleared" (opened, cooled down, closed). Openings never cleared are named.
WITH a AS (
    SELECT session_id, run_id, ts_ns, seq, state,
        lead(state) OVER (PARTITION BY session_id, run_id ORDER BY ts_ns, seq) AS next_state
    FROM alerts
    WHERE rule = 'CIRCUIT_BREAKER_OPEN'
      AND (session_id, run_id) IN (SELECT (session_id, run_id) FROM scope_runs)
),
c AS (
    SELECT
        count(*) FILTER (WHERE state = 'fired') AS opened,
        count(*) FILTER (WHERE state = 'fired' AND next_state = 'cleared') AS recovered,
        count(*) FILTER (WHERE state = 'fired' AND next_state IS NULL) AS still_open
    FROM a
)
SELECT
    recovered::DOUBLE AS value,
    printf('%d recovered', recovered) AS shown,
    recovered >= $threshold AS ok,
    printf('opened %d time(s), recovered %d, never cleared %d', opened, recovered, still_open)
        AS detail
FROM c;
