-- Delete one entry in the middle: the next one no longer follows.
-- expect: {e4}
ALTER TABLE audit_log DISABLE TRIGGER USER;
DELETE FROM audit_log WHERE id = {e3};
