-- Swap the positions of two entries.
-- expect: {e2}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET id = -1 WHERE id = {e2};
UPDATE audit_log SET id = {e2} WHERE id = {e3};
UPDATE audit_log SET id = {e3} WHERE id = -1;
