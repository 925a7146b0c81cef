-- Circuit breaker cycles: a CIRCUIT_BREAKER_OPEN "fired" row whose next row of that rule in
-- the same run is "cleared" (opened, cooled down, closed). Openings never cleared are named.
-- Besides the runs in scope, breaker drills (mode 'drill', `polyarb drill breaker`) of a
-- profile with the same sha256 as a run in scope count: a drill is the operator's profile
-- proven against injected venue faults, the evidence a quiet shadow week cannot give.
WITH drill_runs AS (
    SELECT session_id, run_id FROM runs
    WHERE mode = 'drill' AND profile_sha256 IN (SELECT profile_sha256 FROM scope_runs)
),
a AS (
    SELECT session_id, run_id, ts_ns, seq, state,
        lead(state) OVER (PARTITION BY session_id, run_id ORDER BY ts_ns, seq) AS next_state
    FROM alerts
    WHERE rule = 'CIRCUIT_BREAKER_OPEN'
      AND (
        (session_id, run_id) IN (SELECT (session_id, run_id) FROM scope_runs)
        OR (session_id, run_id) IN (SELECT (session_id, run_id) FROM drill_runs)
      )
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
    printf('opened %d time(s), recovered %d, never cleared %d (drill runs: %d)', opened,
        recovered, still_open, (SELECT count(*) FROM drill_runs)) AS detail
FROM c;
