-- Move e2 to the end of the trail.
-- expect: {e3}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET id = {next} WHERE id = {e2};
