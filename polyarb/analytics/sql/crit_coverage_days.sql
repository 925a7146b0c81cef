-- Days of recording covered by runs in scope: the union of [first_recv_ns, last_recv_ns]
-- spans, so overlapping runs (a restart, two profiles) are not counted twice.
WITH spans AS (
    SELECT first_recv_ns AS s, last_recv_ns AS e
    FROM scope_runs
    WHERE first_recv_ns IS NOT NULL AND last_recv_ns >= first_recv_ns
),
marked AS (
    SELECT s, e,
        max(e) OVER (ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM spans
),
islands AS (
    SELECT s, e,
        sum(CASE WHEN prev_end IS NULL OR s > prev_end THEN 1 ELSE 0 END)
            OVER (ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island
    FROM marked
),
merged AS (
    SELECT max(e) - min(s) AS covered_ns FROM islands GROUP BY island
),
total AS (
    SELECT coalesce(sum(covered_ns), 0) / 86400e9 AS days, count(*) AS stretches FROM merged
)
SELECT
    days AS value,
    printf('%.2f days', days) AS shown,
    days >= $threshold AS ok,
    printf('%d run(s) in %d continuous stretch(es)',
        (SELECT count(*) FROM scope_runs), stretches) AS detail
FROM total;
