-- Live against modelled order latency, from the calibration rows of the runs in scope: the
-- larger of |p50 live − p50 model| and |p90 live − p90 model| in milliseconds. Live is the
-- decision → answer row time as recorded (exact quantile_cont over every answered order);
-- model is the profile's latency model's own quantile, carried on every row (averaged if the
-- runs in scope used several models).
WITH q AS (
    SELECT
        count(*) AS n,
        quantile_cont(real_latency_ns, 0.5) / 1e6 AS live50,
        avg(model_latency_p50_ns) / 1e6 AS model50,
        quantile_cont(real_latency_ns, 0.9) / 1e6 AS live90,
        avg(model_latency_p90_ns) / 1e6 AS model90
    FROM scope_calibration
    WHERE real_latency_ns IS NOT NULL
),
agg AS (
    SELECT *, greatest(abs(live50 - model50), abs(live90 - model90)) AS err FROM q
)
SELECT
    err AS value,
    CASE WHEN err IS NULL THEN 'no data' ELSE printf('%.1f ms', err) END AS shown,
    coalesce(err <= $threshold, false) AS ok,
    CASE
        WHEN n = 0 THEN 'no answered orders in the calibration rows of the runs in scope'
        ELSE printf('%d order(s): p50 %.1f ms live vs %.1f ms model, p90 %.1f vs %.1f',
            n, live50, model50, live90, model90)
    END AS detail
FROM agg;
