-- Insert a forged entry with the triggers on: it extends the head, but its HMAC cannot be made.
-- expect: {next}
INSERT INTO audit_log (id, occurred_at, entity_type, entity_id, action, actor_name, actor_roles, prev_hash, hash, hash_alg)
SELECT {next}, now(), 'Batch', '1', 'RELEASE', 'Qualified Person', 'QP', hash,
       encode(sha256(convert_to(hash || 'forged', 'UTF8')), 'hex'), 'hmac-sha256'
  FROM audit_log WHERE id = {head};
