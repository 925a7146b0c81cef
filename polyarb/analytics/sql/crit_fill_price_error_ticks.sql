-- Live against simulated fill price, from the calibration rows of the runs in scope (one per
-- live order: SimVenue's prediction at the decision beside the real outcome,
-- docs/calibration.md). Mean |live − simulated average fill price| in ticks over the orders
-- that filled both live and in the prediction; a fill rate gap is fill_rate_error_pct's.
WITH agg AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE real_avg_price IS NOT NULL AND pred_avg_price IS NOT NULL
            AND tick > 0) AS paired,
        avg(abs(real_avg_price - pred_avg_price) / tick) FILTER (
            WHERE real_avg_price IS NOT NULL AND pred_avg_price IS NOT NULL AND tick > 0
        ) AS ticks
    FROM scope_calibration
)
SELECT
    ticks AS value,
    CASE WHEN ticks IS NULL THEN 'no data' ELSE printf('%.2f ticks', ticks) END AS shown,
    n > 0 AND (paired = 0 OR ticks <= $threshold) AS ok,
    CASE
        WHEN n = 0 THEN 'no calibration rows in the runs in scope (polyarb live records them)'
        WHEN paired = 0 THEN printf('%d order(s), none filled both live and simulated', n)
        ELSE printf('%d of %d order(s) filled live and simulated', paired, n)
    END AS detail
FROM agg;
