-- Remove the audit entry that seals a batch event: the entry after it no longer follows.
-- expect: {after_seal}
ALTER TABLE audit_log DISABLE TRIGGER USER;
DELETE FROM audit_log WHERE id = {seal};
