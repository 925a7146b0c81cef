-- Complete logs: in every session a run in scope read, frames seq must run 0..n-1 with no
-- hole and no duplicate, and every "gap" row must say why (JSON payload with a "reason").
-- Holes and duplicates are found from count, min, max and the first two power sums of seq:
-- one streaming pass, no sort, exact for any single defect and for every realistic mix.
-- A damaged session (its manifest does not match its parts: the `damaged` view) is one
-- defect with the reason, whatever its readable frames would say.
WITH s AS (
    SELECT DISTINCT session_id FROM scope_runs
),
d AS (
    SELECT session_id, min(reason) AS reason
    FROM damaged
    WHERE path NOT LIKE '%/runs/%'
    GROUP BY session_id
),
f AS (
    SELECT
        session_id,
        count(*) AS n,
        min(seq) AS lo,
        max(seq) AS hi,
        sum(seq::HUGEINT) AS s1,
        sum(seq::HUGEINT * seq) AS s2
    FROM frames
    WHERE session_id IN (SELECT session_id FROM s)
    GROUP BY session_id
),
g AS (
    SELECT session_id, count(*) AS unexplained
    FROM frames
    WHERE kind = 'gap'
      AND session_id IN (SELECT session_id FROM s)
      -- CASE, not OR: DuckDB may evaluate both sides and json_extract raises on bad JSON
      AND coalesce(json_extract_string(
            CASE WHEN json_valid(payload) THEN payload ELSE '{}' END, '$.reason'), '') = ''
    GROUP BY session_id
),
per_session AS (
    SELECT
        s.session_id,
        f.n IS NULL AS no_frames,
        d.reason AS damaged,
        CASE
            WHEN d.reason IS NOT NULL OR f.n IS NULL THEN 1
            WHEN f.lo = 0
                AND f.n = f.hi + 1
                AND f.s1 = f.hi::HUGEINT * (f.hi + 1) / 2
                AND f.s2 = f.hi::HUGEINT * (f.hi + 1) * (2 * f.hi + 1) / 6
                THEN 0
            ELSE greatest(abs(f.hi + 1 - f.n), 1)
        END AS seq_defects,
        coalesce(g.unexplained, 0) AS unexplained
    FROM s
    LEFT JOIN f USING (session_id)
    LEFT JOIN g USING (session_id)
    LEFT JOIN d USING (session_id)
),
bad AS (
    SELECT session_id,
        CASE WHEN damaged IS NOT NULL THEN 'damaged: ' || damaged
            WHEN no_frames THEN 'no frames'
            ELSE concat_ws(', ',
                CASE WHEN seq_defects > 0 THEN printf('%d seq defect(s)', seq_defects) END,
                CASE WHEN unexplained > 0 THEN printf('%d unexplained gap row(s)', unexplained) END)
        END AS what
    FROM per_session
    WHERE seq_defects + unexplained > 0
)
SELECT
    (SELECT coalesce(sum(seq_defects + unexplained), 0) FROM per_session)::DOUBLE AS value,
    printf('%d defect(s)', (SELECT coalesce(sum(seq_defects + unexplained), 0) FROM per_session))
        AS shown,
    (SELECT coalesce(sum(seq_defects + unexplained), 0) FROM per_session) <= $threshold
        AND (SELECT count(*) FROM s) > 0 AS ok,
    CASE
        WHEN (SELECT count(*) FROM s) = 0 THEN 'no sessions in scope'
        WHEN (SELECT count(*) FROM bad) = 0
            THEN printf('%d session(s) gapless, every gap row explained', (SELECT count(*) FROM s))
        ELSE (SELECT string_agg(session_id || ': ' || what, '; ' ORDER BY session_id) FROM bad)
    END AS detail;
