-- @table@: one run table of every run, recordings/<session>/runs/<run>/@table@.parquet.
-- session_id and run_id are the folder names (they key the runs view).
CREATE OR REPLACE VIEW @table@ AS
SELECT
    string_split(replace(filename, '\', '/'), '/')[-4] AS session_id,
    string_split(replace(filename, '\', '/'), '/')[-2] AS run_id,
    * EXCLUDE (filename)
FROM PARQUET('recordings:*/runs/*/@table@.parquet', @table@);
