-- Make room after e2 and slip a forged entry in, linked to e2.
-- expect: {e3}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET id = id + 1000000 WHERE id >= {e3};
UPDATE audit_log SET id = id - 1000000 + 1 WHERE id >= 1000000;
INSERT INTO audit_log (id, occurred_at, entity_type, entity_id, action, actor_name, actor_roles, prev_hash, hash, hash_alg)
SELECT {e3}, occurred_at, 'Batch', '1', 'RELEASE', 'Qualified Person', 'QP', hash, repeat('b', 64), 'hmac-sha256'
  FROM audit_log WHERE id = {e2};
