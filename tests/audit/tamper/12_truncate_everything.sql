-- Empty the whole trail.
-- expect: {first}
ALTER TABLE audit_log DISABLE TRIGGER USER;
TRUNCATE audit_log;
