-- Relabel an entry as written by some other scheme.
-- expect: {e2}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET hash_alg = 'sha1' WHERE id = {e2};
