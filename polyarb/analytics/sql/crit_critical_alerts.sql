-- CRITICAL alerts fired in the runs in scope, by rule.
WITH a AS (
    SELECT rule, count(*) AS n
    FROM alerts
    WHERE level = 'CRITICAL' AND state = 'fired'
      AND (session_id, run_id) IN (SELECT (session_id, run_id) FROM scope_runs)
    GROUP BY rule
)
SELECT
    coalesce(sum(n), 0)::DOUBLE AS value,
    printf('%d fired', coalesce(sum(n), 0)) AS shown,
    coalesce(sum(n), 0) <= $threshold AND (SELECT count(*) FROM scope_runs) > 0 AS ok,
    CASE
        WHEN (SELECT count(*) FROM scope_runs) = 0 THEN 'no runs in scope'
        WHEN count(*) = 0 THEN 'no CRITICAL alert'
        ELSE string_agg(printf('%s x%d', rule, n), ', ' ORDER BY rule)
    END AS detail
FROM a;
