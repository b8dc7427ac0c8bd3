/**
 * The session sql_mode every connection rdsctl opens runs with (instances and metadbs alike):
 * MariaDB 10.11's default. Literals here, and mysql2's placeholder substitution, escape with
 * backslashes, which a server-wide NO_BACKSLASH_ESCAPES (a parameter row can set it) would turn
 * into plain characters: a quote would then end the literal. Pinning the session's mode keeps
 * the escaping and the server's reading of it the same whatever the instance is configured with.
 */
export const PINNED_SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION';
export const PIN_SQL_MODE = `SET SESSION sql_mode = '${PINNED_SQL_MODE}'`;
