-- PnL accuracy: every run in scope must have passed parity (its decisions equal a replay of
-- its own recording). A run with no parity verdict counts as a failure.
WITH bad AS (
    SELECT session_id || '/' || run_id || ' ' || coalesce(parity_status, 'no parity result') AS what
    FROM scope_runs
    WHERE parity_status IS DISTINCT FROM 'PASS'
)
SELECT
    count(*)::DOUBLE AS value,
    printf('%d of %d runs', count(*), (SELECT count(*) FROM scope_runs)) AS shown,
    count(*) <= $threshold AND (SELECT count(*) FROM scope_runs) > 0 AS ok,
    CASE
        WHEN (SELECT count(*) FROM scope_runs) = 0 THEN 'no runs in scope'
        WHEN count(*) = 0 THEN 'every run passed parity'
        ELSE string_agg(what, ', ' ORDER BY what)
    END AS detail
FROM bad;
