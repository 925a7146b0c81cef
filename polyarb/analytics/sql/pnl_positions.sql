-- Positions traded, per run mode, run, market and token, from the fills (counted_runs: one
-- run per session and mode). The positions table holds only what a run still held or
-- settled at its end, so a basket bought and unwound (fills, PnL, no end position) shows
-- here and not there. Money in micro units; cost and proceeds are price × size exactly.
WITH f AS (
    SELECT r.mode, f.session_id, f.run_id, f.market, f.asset_id, f.side, f.price, f.size, f.fee
    FROM fills AS f JOIN counted_runs AS r USING (session_id, run_id)
),
agg AS (
    SELECT mode, session_id, run_id, market, asset_id,
        count(*) AS fills,
        coalesce(sum(size) FILTER (WHERE side = 'BUY'), 0)::BIGINT AS bought,
        coalesce(sum(size) FILTER (WHERE side = 'SELL'), 0)::BIGINT AS sold,
        coalesce(sum(price * size // 1000000) FILTER (WHERE side = 'BUY'), 0)::BIGINT AS cost,
        coalesce(sum(price * size // 1000000) FILTER (WHERE side = 'SELL'), 0)::BIGINT
            AS proceeds,
        coalesce(sum(fee), 0)::BIGINT AS fees
    FROM f
    GROUP BY ALL
)
SELECT agg.*,
    agg.bought - agg.sold AS net_size,
    agg.proceeds - agg.cost - agg.fees AS cash_flow,
    coalesce(p.size, 0) AS end_size,
    coalesce(p.settled, false) AS settled
FROM agg
LEFT JOIN positions AS p USING (session_id, run_id, market, asset_id)
ORDER BY mode, session_id, run_id, market, asset_id;
