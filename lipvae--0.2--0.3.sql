-- lipvae 0.2 -> 0.3
\echo Use "ALTER EXTENSION lipvae UPDATE TO '0.3'" to load this file. \quit

-- The ledger charges every relation group privacy of its multiplicity: how
-- many rows of the training query one of its rows can change (NULL in
-- multiplicities: unbounded, charged epsilon Infinity). Entries of 0.2
-- have NULL arrays: 0.2 charged every relation the training's epsilon.
ALTER TABLE lipvae.ledger_entries
	ADD COLUMN multiplicities integer[],
	ADD COLUMN charged_epsilon float8[],
	ADD COLUMN charged_delta float8[];

DROP FUNCTION lipvae_ledger_entries();
CREATE FUNCTION lipvae_ledger_entries(
	OUT entry bigint,
	OUT trained_at timestamptz,
	OUT model text,
	OUT trainer text,
	OUT relations regclass[],
	OUT relation_names text[],
	OUT kind text,
	OUT mechanism text,
	OUT neighbouring text,
	OUT epsilon float8,
	OUT delta float8,
	OUT multiplicities integer[],
	OUT charged_epsilon float8[],
	OUT charged_delta float8[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lipvae_ledger_entries'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION lipvae_ledger_entries() IS
'Privacy ledger entries the caller may see: one per training (the caller''s own, or reading a relation the caller may see in lipvae_ledger()); per relation its multiplicity (NULL: unbounded) and the (epsilon, delta) it was charged.';

-- Row types: USAGE from PUBLIC to the model's owner alone, so that nobody
-- else can build a table, view or function on a model's row type (and so
-- block lipvae_drop or a replace, which now drop dependents with it), and
-- DROP ROLE of an owner is refused while its models exist. Casting to the
-- type (the typed sampling call) needs no USAGE.
DO $$
DECLARE
	m record;
BEGIN
	FOR m IN SELECT t.oid::pg_catalog.regtype AS typ, r.rolname
	           FROM lipvae.models mo
	           JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) mo.row_type::pg_catalog.oid
	           LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) mo.owner::pg_catalog.oid
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON TYPE %s FROM PUBLIC', m.typ);
		IF m.rolname IS NOT NULL THEN
			EXECUTE pg_catalog.format('GRANT USAGE ON TYPE %s TO %I', m.typ, m.rolname);
		END IF;
	END LOOP;
END
$$;
