-- Edit the reason of an entry with the triggers off.
-- expect: {e3}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET reason = 'approved by phone' WHERE id = {e3};
