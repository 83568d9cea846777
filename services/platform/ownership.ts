// Which service owns which tables. Each service keeps its tables in a PostgreSQL schema of its own and
// connects as a LOGIN role of the same name that has rights on that schema only, so a query of another
// service's tables fails at the database (42501 permission denied), not just in review. The migrations
// (./migrate.ts, run as the admin or master user) create the schemas, roles and grants
// (`createRoleSql`, `grantOwnershipSql`); each service connects through `ownerDatabaseConfig`.
import type { DatabaseConfig } from './config';

/** The services that own tables, in the order their migrations run. */
export const DATA_OWNERS = ['user', 'order', 'payment'] as const;
export type DataOwner = (typeof DATA_OWNERS)[number];

/** The schema holding `owner`'s tables; its role has the same name. */
export function schemaOf(owner: DataOwner): string {
  return `${owner}_service`;
}

/**
 * Where unqualified names resolve for a login that is no service's (migrations, `npm run seed`, tests):
 * every service's schema. A name two services use (`outbox`) is always written qualified.
 */
export const ALL_SCHEMAS: readonly string[] = DATA_OWNERS.map(schemaOf);

/**
 * The connection's startup `options` (pg's ClientConfig.options) that set its search path: a one-off
 * client of the configured login (tools, drills) passes the default, every service's schema.
 */
export function searchPathOption(schemas: readonly string[] = ALL_SCHEMAS): string {
  return `-c search_path=${schemas.join(',')}`;
}

/**
 * The database configuration `owner`'s pools use: its schema alone on the search path and its role
 * as the login wherever the URL names the login: local runs and tests (the roles have no password on
 * 127.0.0.1, so the URL's password is dropped) and the fleets on AWS (DB_AUTH=iam: the password of
 * each connection is an IAM token signed for the URL's user, here the role). Credentials fixed to one
 * user (a secret's login, DB_SECRET_ARN: the migration step's master) keep it; the search path still
 * confines the service.
 */
export function ownerDatabaseConfig(cfg: DatabaseConfig, owner: DataOwner): DatabaseConfig {
  const role = schemaOf(owner);
  const asRole = (url: string) => {
    if (cfg.credentials?.user !== undefined) return url;
    const u = new URL(url);
    u.username = role;
    u.password = '';
    return u.toString();
  };
  return { ...cfg, writerUrl: asRole(cfg.writerUrl), readerUrl: asRole(cfg.readerUrl), searchPath: [role] };
}

/**
 * Creates `owner`'s LOGIN role unless it exists. Roles are cluster-wide while the migration lock is per
 * database, so two databases migrating at once (parallel test files) may both try: the loser's
 * duplicate_object or unique_violation is the winner's role, and fine. On Aurora the role may also log
 * in with an IAM token (membership in rds_iam), when that role exists. Run it outside a long
 * transaction: a concurrent CREATE ROLE waits for this one's commit.
 */
export function createRoleSql(owner: DataOwner): string {
  const role = schemaOf(owner);
  return `DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN
    BEGIN
      CREATE ROLE ${role} LOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') AND NOT pg_has_role('${role}', 'rds_iam', 'MEMBER') THEN
    BEGIN
      GRANT rds_iam TO ${role};
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$`;
}

/**
 * `owner`'s rights, idempotent, run after its migrations in their transaction: USAGE on its schema (not
 * CREATE: the migrations create objects, the service does not), reads and writes on its tables, its
 * sequences and functions, and the same by default for what the migrating user creates there later.
 * PUBLIC gets nothing in the schema (functions are executable by PUBLIC unless revoked), and no one may
 * create objects in `public`.
 */
export function grantOwnershipSql(owner: DataOwner): string {
  const schema = schemaOf(owner);
  return `
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC;
GRANT USAGE ON SCHEMA ${schema} TO ${schema};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${schema};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${schema};
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ${schema} FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${schema} TO ${schema};
ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${schema};
ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE ON SEQUENCES TO ${schema};
ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT EXECUTE ON FUNCTIONS TO ${schema};
`;
}
