-- Platedesk hub on PostgreSQL, step 2 of 2: the audit log out of the hub role's reach.
-- Run as a PostgreSQL superuser AFTER `platedesk-hub init` (and again after every
-- upgrade, docs/deploy.md), with the same -v names as step 1:
--   psql -v ON_ERROR_STOP=1 -f docs/deploy/postgresql-audit-owner.sql
--
-- The audit table and its append-only trigger function then belong to admin_role;
-- the hub role may read and append (SELECT, INSERT) and nothing else: no UPDATE,
-- DELETE or TRUNCATE, no ALTER (it cannot disable the trigger), no DROP.
\if :{?database} \else \set database platedesk \endif
\if :{?hub_role} \else \set hub_role platedesk \endif
\if :{?admin_role} \else \set admin_role platedesk_admin \endif

\connect :"database"
BEGIN;
ALTER TABLE audit_events OWNER TO :"admin_role";
ALTER FUNCTION audit_events_append_only() OWNER TO :"admin_role";
REVOKE ALL ON audit_events FROM :"hub_role";
GRANT SELECT, INSERT ON audit_events TO :"hub_role";
GRANT USAGE, SELECT ON SEQUENCE audit_events_row_id_seq TO :"hub_role";  -- SELECT: pg_dump
COMMIT;
