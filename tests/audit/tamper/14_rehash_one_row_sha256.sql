-- Edit e3 and give it a plain SHA-256 of its new content (no key available).
-- expect: {e3}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET reason = 'rewritten' WHERE id = {e3};
UPDATE audit_log a SET hash = encode(sha256(convert_to(a::text, 'UTF8')), 'hex') WHERE id = {e3};
