-- One app's PostgreSQL role: it logs in, owns its schema and everything in it, and nothing else.
-- Run by scripts/provision/postgres-roles.sh (once per app) as a superuser, with psql variables
-- role, password, schema and database. Idempotent: running it again updates the password and the ownership.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'password';

-- Nobody but the granted roles connects to the database; nobody creates schemas or tables outside their own.
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"role";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The app's schema, owned by its role (its migrations create and alter the tables in it).
SELECT format('CREATE SCHEMA %I AUTHORIZATION %I', :'schema', :'role')
WHERE NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = :'schema') \gexec
ALTER SCHEMA :"schema" OWNER TO :"role";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;

-- A schema created before the roles existed (by an earlier deployment as the admin user) keeps its tables: hand them
-- and their sequences over to the role, so its next migration may alter them.
SELECT format('ALTER TABLE %I.%I OWNER TO %I', n.nspname, c.relname, :'role')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :'schema' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND pg_get_userbyid(c.relowner) <> :'role' \gexec
SELECT format('ALTER SEQUENCE %I.%I OWNER TO %I', n.nspname, c.relname, :'role')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i')
WHERE n.nspname = :'schema' AND c.relkind = 'S' AND d.objid IS NULL
  AND pg_get_userbyid(c.relowner) <> :'role' \gexec
SELECT format('ALTER TYPE %I.%I OWNER TO %I', n.nspname, t.typname, :'role')
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = :'schema' AND t.typtype IN ('e', 'd')
  AND pg_get_userbyid(t.typowner) <> :'role' \gexec
