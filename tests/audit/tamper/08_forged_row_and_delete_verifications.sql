-- A forged entry, then the record of past verifications removed to hide the last good head.
-- expect: {first_verified}
INSERT INTO audit_log (id, occurred_at, entity_type, entity_id, action, actor_name, actor_roles, prev_hash, hash, hash_alg)
SELECT {next}, now(), 'Batch', '1', 'RELEASE', 'Qualified Person', 'QP', hash, repeat('a', 64), 'hmac-sha256'
  FROM audit_log WHERE id = {head};
ALTER TABLE audit_verification DISABLE TRIGGER USER;
DELETE FROM audit_verification;
