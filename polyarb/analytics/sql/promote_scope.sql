-- The runs a promotion decision is made from: the previous phase's runs in the given modes,
-- optionally of one profile and from a UTC day on. Every criterion reads scope_runs.
CREATE OR REPLACE TEMP TABLE scope_runs AS
SELECT *
FROM runs
WHERE phase = $from_phase
  AND list_contains($modes, mode)
  AND ($profile IS NULL OR profile_name = $profile)
  AND ($since_ns IS NULL OR first_recv_ns >= $since_ns);
