-- Cut the trail after e4: what is left still chains, the checkpoint outside the database does not agree.
-- expect: {e5}
ALTER TABLE audit_log DISABLE TRIGGER USER;
DELETE FROM audit_log WHERE id > {e4};
