-- Edit e3 and re-chain it and every later entry with the database's own hash function.
-- expect: {e3}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET reason = 'rewritten' WHERE id = {e3};
DO $$
DECLARE r audit_log; prev text;
BEGIN
  SELECT hash INTO prev FROM audit_log WHERE id = {e3} - 1;
  FOR r IN SELECT * FROM audit_log WHERE id >= {e3} ORDER BY id LOOP
    UPDATE audit_log SET prev_hash = prev, hash_alg = NULL, hash = audit_log_row_hash(prev, r) WHERE id = r.id;
    SELECT hash INTO prev FROM audit_log WHERE id = r.id;
  END LOOP;
END
$$;
