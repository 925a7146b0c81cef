-- go_no_go: the latest result of 'polyarb go-no-go --phase N' per phase
-- (reports/go_no_go/phase<N>.json), one row per phase checked.
CREATE OR REPLACE VIEW go_no_go AS
SELECT
    TRY_CAST(json_extract(content, '$.phase') AS INTEGER) AS phase,
    upper(json_extract_string(content, '$.status')) AS status,
    json_extract(content, '$.checks') AS checks,
    json_extract_string(content, '$.ts') AS ts,
    filename AS path
FROM JSONFILES('reports:go_no_go/phase*.json');
