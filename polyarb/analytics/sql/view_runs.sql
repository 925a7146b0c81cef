-- runs: one row per recordings/<session>/runs/<run>/run.json, with its parity verdict.
-- parity_status comes from runs/<run>/parity.json when present, else from run.json's
-- "parity" key (a string "PASS"/"FAIL" or an object with "status"); NULL when neither.
-- span_ns is the stretch of recording the run covered (first to last frame received).
CREATE OR REPLACE VIEW parity AS
SELECT
    string_split(replace(filename, '\', '/'), '/')[-4] AS session_id,
    string_split(replace(filename, '\', '/'), '/')[-2] AS run_id,
    upper(json_extract_string(content, '$.status')) AS status,
    TRY_CAST(content AS JSON) AS detail
FROM JSONFILES('recordings:*/runs/*/parity.json');

CREATE OR REPLACE VIEW runs AS
WITH raw AS (
    SELECT
        string_split(replace(filename, '\', '/'), '/')[-4] AS session_id,
        string_split(replace(filename, '\', '/'), '/')[-2] AS run_id,
        TRY_CAST(content AS JSON) AS j
    FROM JSONFILES('recordings:*/runs/*/run.json')
)
SELECT
    raw.session_id,
    raw.run_id,
    json_extract_string(j, '$.mode') AS mode,
    TRY_CAST(json_extract(j, '$.phase') AS INTEGER) AS phase,
    json_extract_string(j, '$.profile_name') AS profile_name,
    json_extract_string(j, '$.profile_sha256') AS profile_sha256,
    json_extract_string(j, '$.polyarb_version') AS polyarb_version,
    TRY_CAST(json_extract(j, '$.first_recv_ns') AS BIGINT) AS first_recv_ns,
    TRY_CAST(json_extract(j, '$.last_recv_ns') AS BIGINT) AS last_recv_ns,
    TRY_CAST(json_extract(j, '$.last_recv_ns') AS BIGINT)
        - TRY_CAST(json_extract(j, '$.first_recv_ns') AS BIGINT) AS span_ns,
    TRY_CAST(json_extract(j, '$.frames') AS BIGINT) AS frames,
    TRY_CAST(json_extract(j, '$.wall_start_ns') AS BIGINT) AS wall_start_ns,
    TRY_CAST(json_extract(j, '$.wall_end_ns') AS BIGINT) AS wall_end_ns,
    TRY_CAST(json_extract(j, '$.clean_exit') AS BOOLEAN) AS clean_exit,
    coalesce(
        p.status,
        upper(CASE json_type(j, '$.parity')
            WHEN 'OBJECT' THEN json_extract_string(j, '$.parity.status')
            ELSE json_extract_string(j, '$.parity')
        END)
    ) AS parity_status,
    json_extract_string(j, '$.decisions_sha256') AS decisions_sha256,
    json_extract(j, '$.counts') AS counts,
    json_extract(j, '$.summary') AS summary,
    j AS run_json
FROM raw
LEFT JOIN parity AS p USING (session_id, run_id);
