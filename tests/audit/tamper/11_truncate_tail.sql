-- Remove only the newest entry (the last verification).
-- expect: {head}
ALTER TABLE audit_log DISABLE TRIGGER USER;
DELETE FROM audit_log WHERE id = {head};
