-- go_no_go: the latest result of 'polyarb go-no-go' (reports/go_no_go/latest.json), 0 or 1 row.
CREATE OR REPLACE VIEW go_no_go AS
SELECT
    TRY_CAST(json_extract(content, '$.phase') AS INTEGER) AS phase,
    upper(json_extract_string(content, '$.status')) AS status,
    json_extract(content, '$.checks') AS checks,
    json_extract_string(content, '$.ts') AS ts,
    filename AS path
FROM JSONFILES('reports:go_no_go/latest.json');
