-- The go/no-go checklist ('polyarb go-no-go --phase N', reports/go_no_go/latest.json) must be
-- for the phase being entered and say one of the accepted statuses.
WITH latest AS (SELECT * FROM go_no_go LIMIT 1)
SELECT
    CASE WHEN count(*) = 0 THEN 0.0
        WHEN any_value(phase) = $phase AND list_contains($accept, any_value(status)) THEN 1.0
        ELSE 0.0 END AS value,
    CASE WHEN count(*) = 0 THEN 'missing'
        ELSE printf('%s (phase %s)', coalesce(any_value(status), '?'),
            coalesce(any_value(phase)::VARCHAR, '?')) END AS shown,
    count(*) > 0 AND any_value(phase) = $phase
        AND coalesce(list_contains($accept, any_value(status)), false) AS ok,
    CASE
        WHEN count(*) = 0
            THEN printf('no go/no-go result (reports/go_no_go/latest.json): run ''polyarb go-no-go --phase %d''', $phase)
        WHEN any_value(phase) IS DISTINCT FROM $phase
            THEN printf('the latest go/no-go result is for phase %s, not %d',
                coalesce(any_value(phase)::VARCHAR, '?'), $phase)
        ELSE printf('%s, %s', any_value(path), coalesce(any_value(ts), 'no ts'))
    END AS detail
FROM latest;
