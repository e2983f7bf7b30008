-- Tells every server whose session lists a committed write changed
-- (src/modules/sessions/list-cache.pg.ts): each statement on sessions or documents
-- sends the distinct owners of its rows on channel session_lists as a JSON array
-- after the table's schema and a colon ('app:["u1","u2"]'; JSON because an id may
-- hold any character), so a database shared by several schemas (tests, tenants)
-- does not empty the others' caches. A payload must stay under 8,000 bytes: owners
-- go at most ~6,000 bytes to a notification, and a statement touching more than
-- 1,000 owners (or an owner id too long to send) sends 'schema:*', every list.
-- PostgreSQL folds identical payloads of one transaction into one, so a
-- council's many updates in one transaction cost one.
-- Statement-level triggers with transition tables: one notification a statement,
-- however many rows it writes (a batch of 1,000 councils finishing is one UPDATE).
-- TRUNCATE is not covered (nothing in the project truncates these tables).
CREATE FUNCTION "notify_session_lists"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  owners text[];
  prefix text := TG_TABLE_SCHEMA || ':';
  batch text[] := '{}';
  batch_bytes int := 0;
  owner text;
  owner_bytes int;
BEGIN
  -- An UPDATE may move a row to another owner: both owners' lists changed.
  IF TG_OP = 'UPDATE' THEN
    SELECT array_agg(DISTINCT user_id) INTO owners FROM (SELECT user_id FROM changed UNION SELECT user_id FROM changed_before) AS both_sides;
  ELSE
    SELECT array_agg(DISTINCT user_id) INTO owners FROM changed;
  END IF;
  IF owners IS NULL THEN
    RETURN NULL;
  END IF;
  IF cardinality(owners) > 1000 THEN
    PERFORM pg_notify('session_lists', prefix || '*');
    RETURN NULL;
  END IF;
  FOREACH owner IN ARRAY owners LOOP
    owner_bytes := octet_length(to_json(owner)::text) + 1;
    IF owner_bytes > 1000 THEN
      PERFORM pg_notify('session_lists', prefix || '*');
      RETURN NULL;
    END IF;
    IF batch_bytes + owner_bytes > 6000 THEN
      PERFORM pg_notify('session_lists', prefix || to_json(batch)::text);
      batch := '{}';
      batch_bytes := 0;
    END IF;
    batch := batch || owner;
    batch_bytes := batch_bytes + owner_bytes;
  END LOOP;
  PERFORM pg_notify('session_lists', prefix || to_json(batch)::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "sessions_notify_lists_insert" AFTER INSERT ON "sessions" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "notify_session_lists"();
--> statement-breakpoint
CREATE TRIGGER "sessions_notify_lists_update" AFTER UPDATE ON "sessions" REFERENCING OLD TABLE AS changed_before NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "notify_session_lists"();
--> statement-breakpoint
CREATE TRIGGER "sessions_notify_lists_delete" AFTER DELETE ON "sessions" REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "notify_session_lists"();
--> statement-breakpoint
CREATE TRIGGER "documents_notify_lists_insert" AFTER INSERT ON "documents" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "notify_session_lists"();
--> statement-breakpoint
CREATE TRIGGER "documents_notify_lists_update" AFTER UPDATE ON "documents" REFERENCING OLD TABLE AS changed_before NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "notify_session_lists"();
--> statement-breakpoint
CREATE TRIGGER "documents_notify_lists_delete" AFTER DELETE ON "documents" REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "notify_session_lists"();
