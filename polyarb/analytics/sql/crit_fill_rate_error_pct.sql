-- Live against simulated fill rate, from the calibration rows of the runs in scope:
-- |Σ live filled − Σ simulated filled| / Σ order size, in percentage points.
WITH agg AS (
    SELECT
        count(*) AS n,
        sum(size)::DOUBLE AS size,
        sum(real_filled_size)::DOUBLE AS live,
        sum(pred_filled_size)::DOUBLE AS sim
    FROM scope_calibration
),
pct AS (
    SELECT *, CASE WHEN size > 0 THEN 100 * abs(live - sim) / size END AS err FROM agg
)
SELECT
    err AS value,
    CASE WHEN err IS NULL THEN 'no data' ELSE printf('%.2f pp', err) END AS shown,
    coalesce(err <= $threshold, false) AS ok,
    CASE
        WHEN n = 0 THEN 'no calibration rows in the runs in scope (polyarb live records them)'
        ELSE printf('%d order(s): filled %.1f%% live, %.1f%% simulated', n,
            100 * live / size, 100 * sim / size)
    END AS detail
FROM pct;
