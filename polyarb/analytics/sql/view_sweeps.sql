-- sweeps: every cell of every sweep, recordings/sweeps/<name>/results.parquet (docs/sweeps.md).
-- Swept parameters are also columns named "param.<dotted key>" (quote them in SQL).
CREATE OR REPLACE VIEW sweeps AS
SELECT * EXCLUDE (filename)
FROM PARQUET('recordings:sweeps/*/results.parquet', sweeps);
