-- damaged: what the other views left out, and why: a session whose manifest does not read
-- or does not match its folder (every file of it is left out of sessions' data views), or one
-- file DuckDB could not read (a truncated Parquet part, a foreign schema, text not UTF-8).
-- session_id is '' for a file outside any session (reports).
CREATE OR REPLACE VIEW damaged AS
SELECT session_id, path, reason FROM _damaged;
