-- sessions: one row per recordings/<session>/manifest.json (docs/analytics.md).
-- session_id is the folder name, which is what every other view joins on.
-- damaged: why the session cannot be trusted (manifest unreadable, a part missing, extra,
-- resized or unreadable, markets unreadable), NULL when whole; see the damaged view.
CREATE OR REPLACE VIEW sessions AS
WITH raw AS (
    SELECT
        string_split(replace(filename, '\', '/'), '/')[-2] AS session_id,
        TRY_CAST(content AS JSON) AS j,
        filename
    FROM JSONFILES('recordings:*/manifest.json')
),
bad AS (
    SELECT session_id, min(reason) AS damaged
    FROM _damaged
    WHERE path NOT LIKE '%/runs/%'
    GROUP BY session_id
)
SELECT
    session_id,
    json_extract_string(j, '$.id') AS id,
    TRY_CAST(json_extract(j, '$.start_ns') AS BIGINT) AS start_ns,
    TRY_CAST(json_extract(j, '$.end_ns') AS BIGINT) AS end_ns,
    TRY_CAST(json_extract(j, '$.frames') AS BIGINT) AS frames,
    TRY_CAST(json_extract(j, '$.markets') AS BIGINT) AS markets,
    coalesce(TRY_CAST(json_extract(j, '$.sealed') AS BOOLEAN), false) AS sealed,
    json_extract_string(j, '$.polyarb_version') AS polyarb_version,
    json_extract_string(j, '$.feed_url') AS feed_url,
    json_extract(j, '$.counts') AS counts,
    json_extract(j, '$.parts') AS parts,
    json_extract(j, '$.assets') AS assets,
    json_extract(j, '$.source') AS source,
    filename AS manifest_path,
    bad.damaged
FROM raw
FULL OUTER JOIN bad USING (session_id);
