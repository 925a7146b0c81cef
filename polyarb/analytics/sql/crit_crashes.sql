-- Runs that did not end cleanly: clean_exit false, or missing (a run.json written by a
-- process that never got to say how it ended counts as a crash).
WITH bad AS (
    SELECT session_id || '/' || run_id AS run
    FROM scope_runs
    WHERE NOT coalesce(clean_exit, false)
    ORDER BY run
)
SELECT
    count(*)::DOUBLE AS value,
    printf('%d of %d runs', count(*), (SELECT count(*) FROM scope_runs)) AS shown,
    count(*) <= $threshold AS ok,
    CASE WHEN count(*) = 0 THEN 'every run exited cleanly'
        ELSE 'no clean exit: ' || string_agg(run, ', ' ORDER BY run) END AS detail
FROM bad;
