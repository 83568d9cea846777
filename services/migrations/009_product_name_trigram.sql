-- Catalog search (`GET /api/products?q=`, open to anonymous traffic) matches `name ILIKE '%q%'`:
-- without an index every search is a scan of the whole catalog. A trigram GIN index answers
-- substring matches of 3 or more characters (the route's minimum). pg_trgm ships with PostgreSQL's
-- contrib and is on Aurora PostgreSQL's supported-extensions list; PGlite loads it from its contrib
-- bundle (services/local/engines.ts). Built in the migration's transaction (not CONCURRENTLY), so
-- product writes wait while it builds: seconds for a catalog of this size.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS products_name_trgm ON products USING gin (name gin_trgm_ops);
