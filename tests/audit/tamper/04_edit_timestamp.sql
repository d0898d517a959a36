-- Back-date an entry by one hour.
-- expect: {e4}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET occurred_at = occurred_at - interval '1 hour' WHERE id = {e4};
