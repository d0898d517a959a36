-- Point an entry's link at another predecessor.
-- expect: {e5}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE id = {e1}) WHERE id = {e5};
