-- The writes granted to roles other than the monitor (the tables' owner), table by table.
-- A table or role that does not exist (yet) is skipped, so it is safe at any schema
-- version and without the roles (local mode). Run by the owner or a superuser after every
-- migration: migrate.mjs (the Compose service `migrate`) and roles.sql do.
DO $$
DECLARE
  g record;
BEGIN
  FOR g IN
    SELECT * FROM (VALUES
      ('api_tokens',    'ferry_gateway',   'SELECT, INSERT, UPDATE'),
      ('sessions',      'ferry_gateway',   'SELECT, INSERT, UPDATE, DELETE'),
      ('request_stats', 'ferry_gateway',   'SELECT, INSERT, UPDATE'),
      ('silences',      'ferry_gateway',   'SELECT, INSERT, UPDATE'),
      ('file_events',   'ferry_scheduler', 'SELECT, DELETE'),
      ('request_stats', 'ferry_scheduler', 'SELECT, DELETE')
    ) AS t (tbl, grantee, privileges)
  LOOP
    IF to_regclass(format('public.%I', g.tbl)) IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = g.grantee) THEN
      EXECUTE format('GRANT %s ON public.%I TO %I', g.privileges, g.tbl, g.grantee);
    END IF;
  END LOOP;
END
$$;
