-- Platedesk hub on PostgreSQL, step 1 of 2: the database and its two roles.
-- Run as a PostgreSQL superuser BEFORE `platedesk-hub init` (docs/deploy.md):
--   psql -v ON_ERROR_STOP=1 -v hub_password="$(cat /etc/platedesk/db-password)" \
--        -f docs/deploy/postgresql-setup.sql
-- Names can be changed with -v database=... -v hub_role=... -v admin_role=...
--
-- admin_role (NOLOGIN) owns the database, its schema and, after step 2, the audit
-- table. hub_role is what `platedesk-hub init` and `serve` connect as: it creates
-- and owns the hub's other tables (the day partitions of reads included), but it
-- never owns the schema, so it cannot drop a table it does not own.
\if :{?database} \else \set database platedesk \endif
\if :{?hub_role} \else \set hub_role platedesk \endif
\if :{?admin_role} \else \set admin_role platedesk_admin \endif
\if :{?hub_password} \else \echo 'give -v hub_password=...' \quit \endif

-- The roles once per server: run again for another database (a restore's), they stay.
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'admin_role') AS new_admin,
       NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'hub_role') AS new_hub \gset
\if :new_admin
CREATE ROLE :"admin_role" NOLOGIN;
\endif
\if :new_hub
CREATE ROLE :"hub_role" LOGIN PASSWORD :'hub_password';
\endif
CREATE DATABASE :"database" OWNER :"admin_role" ENCODING 'UTF8' TEMPLATE template0;
\connect :"database"
ALTER SCHEMA public OWNER TO :"admin_role";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO :"hub_role";
-- The hub's trigram index on plates (migration 0002) needs the extension; created
-- here by the superuser so the hub role needs no extension rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
