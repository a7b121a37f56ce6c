-- Ferry's PostgreSQL roles, least privilege (docs/deployment.md):
--   ferry_monitor    owns the tables: runs the migrations, writes the state (the projection)
--   ferry_gateway    reads everything; writes api_tokens, sessions, request_stats, silences
--   ferry_scheduler  reads everything (pg_dump), deletes old file_events and request_stats
--                    (retention), CREATEDB (verifies each backup in a scratch database)
-- Run as a superuser in Ferry's database, with the passwords as psql variables; safe to
-- run again (it updates passwords and privileges). init-roles.sh does this, from the
-- environment, at the first start of the Compose postgres service.
--   psql -d ferry -v monitor_password=… -v gateway_password=… -v scheduler_password=… -f roles.sql
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I', r)
  FROM unnest(ARRAY['ferry_monitor', 'ferry_gateway', 'ferry_scheduler']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec

ALTER ROLE ferry_monitor   LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'monitor_password';
ALTER ROLE ferry_gateway   LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'gateway_password';
ALTER ROLE ferry_scheduler LOGIN NOSUPERUSER NOCREATEROLE CREATEDB   PASSWORD :'scheduler_password';

-- Only Ferry's roles connect. The monitor may create in the database: migrations add the
-- pg_trgm extension (a trusted one).
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO ferry_monitor, ferry_gateway, ferry_scheduler', current_database()) \gexec
SELECT format('GRANT CREATE ON DATABASE %I TO ferry_monitor', current_database()) \gexec

-- Only the monitor creates tables.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO ferry_monitor;
GRANT USAGE ON SCHEMA public TO ferry_gateway, ferry_scheduler;

-- Tables made before these roles existed (an upgrade, when the services logged in as the
-- superuser) go to the monitor; their sequences and indexes follow.
SELECT format('ALTER TABLE public.%I OWNER TO ferry_monitor', c.relname)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public'
   AND c.relkind IN ('r', 'p', 'v', 'm')
   AND c.relowner <> 'ferry_monitor'::regrole
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') \gexec

-- Reading: every table the monitor has or will create, as later migrations add them.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ferry_gateway, ferry_scheduler;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO ferry_gateway, ferry_scheduler;
ALTER DEFAULT PRIVILEGES FOR ROLE ferry_monitor IN SCHEMA public GRANT SELECT ON TABLES TO ferry_gateway, ferry_scheduler;
ALTER DEFAULT PRIVILEGES FOR ROLE ferry_monitor IN SCHEMA public GRANT SELECT ON SEQUENCES TO ferry_gateway, ferry_scheduler;

-- Writing, table by table (grants.sql runs again after every migration).
\ir grants.sql
