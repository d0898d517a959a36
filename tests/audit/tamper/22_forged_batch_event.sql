-- Insert a batch event behind the application's back (triggers on).
-- expect: text:has no entry in the audit trail
INSERT INTO batch_event (batch_id, event_type, title, actor_name, actor_role)
VALUES ({batch}, 'NOTE', 'Line clearance done', 'Production Operator', 'Production');
