-- frames: every sealed frames row of every session (payload exactly as received).
-- Journals (part-*.arrows) of a session still being recorded are not included.
CREATE OR REPLACE VIEW frames AS
SELECT
    string_split(replace(filename, '\', '/'), '/')[-3] AS session_id,
    * EXCLUDE (filename)
FROM PARQUET('recordings:*/frames/part-*.parquet', frames);
