-- markets: every row of every session's markets.parquet, with its session.
CREATE OR REPLACE VIEW markets AS
SELECT
    string_split(replace(filename, '\', '/'), '/')[-2] AS session_id,
    * EXCLUDE (filename)
FROM PARQUET('recordings:*/markets.parquet', markets);
