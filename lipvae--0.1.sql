/* lipvae--0.1.sql: install script of lipvae 0.1 */

\echo Use "CREATE EXTENSION lipvae" to load this file. \quit

-- The role that may train models. Granted by an administrator:
--   GRANT lipvae_trainer TO alice;
-- Roles are cluster-wide and survive DROP EXTENSION.
DO $do$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'lipvae_trainer') THEN
		CREATE ROLE lipvae_trainer NOLOGIN;
	END IF;
END
$do$;

-- Private schema: the model catalog. Nobody but the extension owner reads it;
-- the C entry points switch to the owner only around catalog access.
CREATE SCHEMA lipvae;
REVOKE ALL ON SCHEMA lipvae FROM PUBLIC;

-- Public schema of the per-model row types used by the typed sampler:
--   SELECT * FROM lipvae_sample(NULL::lipvae_types.patients, 100);
CREATE SCHEMA lipvae_types;
GRANT USAGE ON SCHEMA lipvae_types TO PUBLIC;

CREATE TABLE lipvae.models (
	name text PRIMARY KEY
		CHECK (octet_length(name) BETWEEN 1 AND 63),
	owner regrole NOT NULL,
	acl aclitem[] NOT NULL DEFAULT '{}',
	created timestamptz NOT NULL DEFAULT pg_catalog.now(),
	query text NOT NULL,
	columns jsonb NOT NULL,
	settings jsonb NOT NULL,
	mechanism text NOT NULL CHECK (mechanism IN ('latent', 'none')),
	scope text NOT NULL,
	epsilon float8,					-- guarantee of the last allowed row
	delta float8,
	epsilon_requested float8,
	epsilon_preprocess float8 NOT NULL,
	delta_preprocess float8 NOT NULL,
	preprocess jsonb NOT NULL,		-- every DP preprocessing component
	passes integer NOT NULL,
	nrows bigint NOT NULL,
	diameter float8 NOT NULL,
	noise_sd float8 NOT NULL,
	lipschitz_target float8,
	lipschitz_certified float8 NOT NULL,
	mu_pass float8,					-- GDP parameter of one pass
	row_type regtype NOT NULL,
	training jsonb NOT NULL,
	model bytea NOT NULL
);
REVOKE ALL ON lipvae.models FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('lipvae.models', '');

COMMENT ON TABLE lipvae.models IS
'lipvae model catalog. Holds per-record models, whose bytes contain the encoder means of the training rows: as sensitive as the raw table.';

CREATE FUNCTION lipvae_train(
	model text,
	query text,
	epsilon float8 DEFAULT 1.0,
	delta float8 DEFAULT 1e-6,
	passes integer DEFAULT 10,
	mechanism text DEFAULT 'latent',
	bounds jsonb DEFAULT NULL,
	categories jsonb DEFAULT NULL,
	not_null text[] DEFAULT NULL,
	epochs integer DEFAULT NULL,
	batch_size integer DEFAULT 256,
	latent integer DEFAULT 8,
	hidden integer DEFAULT 128,
	learning_rate float8 DEFAULT 0.002,
	bins integer DEFAULT 32,
	preprocess_share float8 DEFAULT 0.5,
	seed bigint DEFAULT NULL,
	replace boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'lipvae_train'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION lipvae_train(text, text, float8, float8, integer, text, jsonb, jsonb, text[], integer, integer, integer, integer, float8, integer, float8, bigint, boolean) IS
'Train a differentially private model named MODEL on the rows of QUERY (run as the caller) and store it.';

REVOKE ALL ON FUNCTION lipvae_train(text, text, float8, float8, integer, text, jsonb, jsonb, text[], integer, integer, integer, integer, float8, integer, float8, bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lipvae_train(text, text, float8, float8, integer, text, jsonb, jsonb, text[], integer, integer, integer, integer, float8, integer, float8, bigint, boolean) TO lipvae_trainer;

CREATE FUNCTION lipvae_sample(
	model text,
	n bigint,
	start bigint DEFAULT 0,
	OUT row_no bigint,
	OUT "row" jsonb,
	OUT epsilon float8,
	OUT delta float8,
	OUT scope text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lipvae_sample_jsonb'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED ROWS 1000;

COMMENT ON FUNCTION lipvae_sample(text, bigint, bigint) IS
'Synthetic rows start .. start+n-1 of MODEL as jsonb, each with the guarantee (epsilon, delta, scope) that holds up to it.';

CREATE FUNCTION lipvae_sample(
	row_type anyelement,
	n bigint,
	start bigint DEFAULT 0)
RETURNS SETOF anyelement
AS 'MODULE_PATHNAME', 'lipvae_sample_typed'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED ROWS 1000;

COMMENT ON FUNCTION lipvae_sample(anyelement, bigint, bigint) IS
'Synthetic rows of the model whose row type is given (NULL::lipvae_types.<model>), with the training query''s column names and types plus epsilon, delta, scope.';

CREATE FUNCTION lipvae_drop(model text)
RETURNS void
AS 'MODULE_PATHNAME', 'lipvae_drop'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION lipvae_drop(text) IS
'Drop a model and its row type (owner or superuser only).';

CREATE FUNCTION lipvae_grant(model text, grantee regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'lipvae_grant'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION lipvae_grant(text, regrole) IS
'Allow GRANTEE (and its members) to sample MODEL (owner or superuser only; never for mechanism none).';

CREATE FUNCTION lipvae_revoke(model text, grantee regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'lipvae_revoke'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION lipvae_revoke(text, regrole) IS
'Withdraw the sampling right on MODEL from GRANTEE (owner or superuser only).';

CREATE FUNCTION lipvae_models(
	OUT name text,
	OUT owner text,
	OUT created timestamptz,
	OUT mechanism text,
	OUT scope text,
	OUT epsilon float8,
	OUT delta float8,
	OUT passes integer,
	OUT rows_per_pass bigint,
	OUT columns text[],
	OUT row_type text,
	OUT is_owner boolean,
	OUT details jsonb)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lipvae_models'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION lipvae_models() IS
'Models the caller owns or may sample, with their guarantees. DETAILS (query, encodings, training, privacy components) only for owners.';
