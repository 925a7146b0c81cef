-- The calibration rows of the runs in scope (one per live order, docs/calibration.md): what
-- the calibration criteria read, defined once.
CREATE OR REPLACE TEMP TABLE scope_calibration AS
SELECT *
FROM calibration
WHERE (session_id, run_id) IN (SELECT (session_id, run_id) FROM scope_runs);
