-- counted_runs: the one run per (session, mode) that per-mode totals count. A session
-- replayed again (parity's replay beside a manual `polyarb replay`, or the same replay
-- twice) is one recording: adding every run's PnL would count it twice. Preferred: the
-- parity replay (run_id 'shadow-replay': the shadow's own settings, what shadow is
-- compared with), else the highest run_id (replay run.json carries no wall clock, on purpose).
CREATE OR REPLACE VIEW counted_runs AS
SELECT *
FROM runs
QUALIFY row_number() OVER (
    PARTITION BY session_id, mode
    ORDER BY run_id = 'shadow-replay' DESC, run_id DESC
) = 1;
