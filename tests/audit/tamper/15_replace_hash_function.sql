-- Replace the database hash function so that it returns whatever is stored, then edit a row.
-- expect: {e2}
CREATE OR REPLACE FUNCTION audit_log_row_hash(prev text, r audit_log) RETURNS text LANGUAGE sql STABLE AS $$ SELECT r.hash $$;
CREATE OR REPLACE FUNCTION audit_log_canonical(r audit_log) RETURNS text LANGUAGE sql STABLE AS $$ SELECT '' $$;
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET reason = 'rewritten', hash_alg = NULL WHERE id = {e2};
