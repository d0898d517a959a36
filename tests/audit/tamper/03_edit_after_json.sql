-- Change the recorded value inside the after snapshot.
-- expect: {e2}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET after = '{"i": 99}' WHERE id = {e2};
