-- Every run with its final PnL (the last pnl row by ts_ns, seq; 0 without rows) and activity.
-- `counted`: the run per-mode totals add (counted_runs); sum pnl over counted rows only.
WITH last AS (
    SELECT session_id, run_id,
        arg_max(realised_pnl + marked_pnl, (ts_ns, seq)) AS pnl,
        arg_max(realised_pnl, (ts_ns, seq)) AS realised,
        arg_max(fees_paid, (ts_ns, seq)) AS fees
    FROM pnl GROUP BY ALL
),
o AS (
    SELECT session_id, run_id, count(*) AS orders, count(*) FILTER (WHERE filled_size > 0) AS filled
    FROM orders GROUP BY ALL
),
f AS (
    SELECT session_id, run_id, count(*) AS fills FROM fills GROUP BY ALL
),
d AS (
    SELECT session_id, run_id, count(*) AS opportunities FROM decisions
    WHERE type = 'opportunity' GROUP BY ALL
)
SELECT r.session_id, r.run_id, r.mode, r.phase, r.profile_name, r.first_recv_ns,
    coalesce(last.pnl, 0) AS pnl, coalesce(last.realised, 0) AS realised,
    coalesce(last.fees, 0) AS fees, coalesce(d.opportunities, 0) AS opportunities,
    coalesce(o.orders, 0) AS orders, coalesce(o.filled, 0) AS filled_orders,
    coalesce(f.fills, 0) AS fills,
    (r.session_id, r.run_id) IN (SELECT (session_id, run_id) FROM counted_runs) AS counted
FROM runs AS r
LEFT JOIN last USING (session_id, run_id) LEFT JOIN o USING (session_id, run_id)
LEFT JOIN f USING (session_id, run_id) LEFT JOIN d USING (session_id, run_id)
ORDER BY r.first_recv_ns, r.session_id, r.run_id;
