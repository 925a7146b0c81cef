-- Live fills against what the simulator predicted for the same decisions: for each live run
-- in scope, the replay run of the same session with the same profile (lowest run_id if
-- several; replays are deterministic). Error = Σ|live − simulated filled notional| over
-- decisions / Σ live notional, in basis points. Live runs without such a replay fail.
WITH live_runs AS (
    SELECT session_id, run_id, profile_sha256 FROM scope_runs
),
replays AS (
    SELECT l.session_id, l.run_id AS live_run, min(r.run_id) AS replay_run
    FROM live_runs AS l
    JOIN runs AS r
      ON r.session_id = l.session_id AND r.mode = 'replay'
     AND r.profile_sha256 IS NOT DISTINCT FROM l.profile_sha256
    GROUP BY ALL
),
notional AS (
    SELECT f.session_id, f.run_id, o.decision_id, sum(f.price::HUGEINT * f.size) / 1e6 AS cash
    FROM fills AS f
    JOIN orders AS o USING (session_id, run_id, order_id)
    WHERE (f.session_id, f.run_id) IN (
        SELECT (session_id, live_run) FROM replays
        UNION ALL SELECT (session_id, replay_run) FROM replays)
    GROUP BY ALL
),
paired AS (
    SELECT coalesce(lv.cash, 0) AS live_cash, coalesce(sm.cash, 0) AS sim_cash
    FROM (SELECT n.* FROM notional n JOIN replays r
            ON n.session_id = r.session_id AND n.run_id = r.live_run) AS lv
    FULL OUTER JOIN (SELECT n.* FROM notional n JOIN replays r
            ON n.session_id = r.session_id AND n.run_id = r.replay_run) AS sm
      ON lv.session_id = sm.session_id AND lv.decision_id = sm.decision_id
),
agg AS (
    SELECT
        CASE WHEN sum(live_cash) > 0
            THEN 1e4 * sum(abs(live_cash - sim_cash)) / sum(live_cash) END AS bps,
        count(*) AS decisions
    FROM paired
),
missing AS (
    SELECT count(*) AS n, string_agg(session_id || '/' || run_id, ', ' ORDER BY session_id) AS runs
    FROM live_runs l
    WHERE NOT EXISTS (SELECT 1 FROM replays r WHERE r.session_id = l.session_id AND r.live_run = l.run_id)
)
SELECT
    agg.bps AS value,
    CASE WHEN agg.bps IS NULL THEN 'no data' ELSE printf('%.1f bps', agg.bps) END AS shown,
    coalesce(agg.bps <= $threshold AND missing.n = 0, false) AS ok,
    CASE
        WHEN (SELECT count(*) FROM live_runs) = 0 THEN 'no runs in scope'
        WHEN missing.n > 0 THEN printf('%d live run(s) without a replay to compare with: %s',
            missing.n, missing.runs)
        WHEN agg.bps IS NULL THEN 'no live fills to compare'
        ELSE printf('%d decision(s) compared with their replay', agg.decisions)
    END AS detail
FROM agg, missing;
