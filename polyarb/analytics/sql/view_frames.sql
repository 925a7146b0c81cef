-- frames: every sealed frames row of every session (payload exactly as received; in parts
-- rewritten by `polyarb sessions compact` the book frames' payload is NULL here, stored as
-- book_skeleton/book_ref/book_ops, which polyarb's SessionReader turns back into the text).
-- Journals (part-*.arrows) of a session still being recorded are not included.
CREATE OR REPLACE VIEW frames AS
SELECT
    string_split(replace(filename, '\', '/'), '/')[-3] AS session_id,
    * EXCLUDE (filename)
FROM PARQUET('recordings:*/frames/part-*.parquet', frames);
