-- The go/no-go checklist ('polyarb go-no-go --phase N', reports/go_no_go/phase<N>.json) must
-- exist for the phase being entered (kept per phase: a later check of another phase cannot
-- hide it), and its status must be one of the accepted ones. The status
-- is recomputed from the checks without go-no-go's own "promote_check" check: that one asks
-- whether this very command said GO, and counting it would make each wait for the other.
WITH latest AS (
    SELECT * FROM go_no_go WHERE phase = $phase LIMIT 1
),
checks AS (
    SELECT json_extract_string(c, '$.name') AS name, upper(json_extract_string(c, '$.status')) AS status
    FROM latest, unnest(CAST(coalesce(latest.checks, '[]') AS JSON[])) AS t(c)
),
counted AS (
    SELECT * FROM checks WHERE name IS DISTINCT FROM 'promote_check'
),
effective AS (
    SELECT
        (SELECT count(*) FROM latest) AS found,
        (SELECT any_value(phase) FROM latest) AS phase,
        CASE
            WHEN (SELECT count(*) FROM checks) = 0 THEN (SELECT any_value(status) FROM latest)
            WHEN count(*) FILTER (WHERE status = 'FAIL') > 0 THEN 'FAIL'
            WHEN count(*) FILTER (WHERE status = 'WARN') > 0 THEN 'WARN'
            ELSE 'PASS'
        END AS status,
        string_agg(name || ' ' || status, ', ' ORDER BY name) FILTER (WHERE status <> 'PASS')
            AS not_passing,
        (SELECT any_value(path) FROM latest) AS path,
        (SELECT any_value(ts) FROM latest) AS ts
    FROM counted
)
SELECT
    CASE WHEN found > 0 AND phase = $phase AND list_contains($accept, status)
        THEN 1.0 ELSE 0.0 END AS value,
    CASE WHEN found = 0 THEN 'missing'
        ELSE printf('%s (phase %s)', coalesce(status, '?'), coalesce(phase::VARCHAR, '?'))
    END AS shown,
    found > 0 AND coalesce(phase = $phase AND list_contains($accept, status), false) AS ok,
    CASE
        WHEN found = 0
            THEN printf('no go/no-go result for phase %d (reports/go_no_go/phase%d.json): run ''polyarb go-no-go --phase %d''', $phase, $phase, $phase)
        WHEN phase IS DISTINCT FROM $phase
            THEN printf('the latest go/no-go result is for phase %s, not %d',
                coalesce(phase::VARCHAR, '?'), $phase)
        WHEN not_passing IS NOT NULL THEN 'not passing: ' || not_passing
        ELSE printf('%s, %s', path, coalesce(ts, 'no ts'))
    END AS detail
FROM effective;
