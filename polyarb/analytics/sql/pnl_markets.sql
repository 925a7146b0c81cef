-- PnL per market and run mode from the positions table: settled positions contribute
-- payout − cost; open positions have no mark in that table, so their cost is shown apart.
-- One run per session and mode (counted_runs).
SELECT r.mode, p.market,
    sum(CASE WHEN p.settled THEN coalesce(p.payout, 0) - coalesce(p.cost, 0) ELSE 0 END)::BIGINT
        AS settled_pnl,
    sum(CASE WHEN p.settled THEN 0 ELSE coalesce(p.cost, 0) END)::BIGINT AS open_cost,
    count(DISTINCT (p.session_id, p.run_id)) AS runs
FROM positions AS p JOIN counted_runs AS r USING (session_id, run_id)
GROUP BY ALL
ORDER BY r.mode, settled_pnl DESC, p.market;
