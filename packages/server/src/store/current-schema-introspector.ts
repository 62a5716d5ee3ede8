// PostgreSQL introspection limited to the connection's current schema (the one tunai's tables live in).
import { sql, type DatabaseIntrospector, type DatabaseMetadata, type Kysely, type SchemaMetadata, type TableMetadata } from 'kysely';

/** The migrator's bookkeeping tables, left out unless asked for. */
const migratorTables = new Set(['kysely_migration', 'kysely_migration_lock']);

interface ColumnRow {
  schema_name: string;
  table_name: string;
  is_view: boolean;
  column_name: string;
  data_type: string;
  data_type_schema: string;
  not_null: boolean;
  has_default: boolean;
  auto_incrementing: boolean;
  comment: string | null;
}

/**
 * Kysely's own PostgreSQL introspector reads every table of every schema in the database and calls
 * has_schema_privilege and pg_get_serial_sequence on each by name. Its migrator runs that on every start, so a
 * server sharing its database with other schemas failed to start ("schema … does not exist") whenever one of them
 * was dropped at that moment, and the work grew with the number of schemas. tunai only ever needs its own.
 */
export class CurrentSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<unknown>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const result = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace order by nspname`.execute(this.db);
    return result.rows.map((row) => ({ name: row.name }));
  }

  async getTables(options: { withInternalKyselyTables?: boolean } = {}): Promise<TableMetadata[]> {
    const result = await sql<ColumnRow>`
      select ns.nspname as schema_name,
             c.relname as table_name,
             c.relkind in ('v', 'm') as is_view,
             a.attname as column_name,
             t.typname as data_type,
             tns.nspname as data_type_schema,
             a.attnotnull as not_null,
             a.atthasdef as has_default,
             (a.attidentity <> '' or pg_get_serial_sequence(quote_ident(ns.nspname) || '.' || quote_ident(c.relname), a.attname) is not null) as auto_incrementing,
             col_description(a.attrelid, a.attnum) as comment
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
        join pg_catalog.pg_attribute a on a.attrelid = c.oid
        join pg_catalog.pg_type t on t.oid = a.atttypid
        join pg_catalog.pg_namespace tns on tns.oid = t.typnamespace
       where ns.nspname = current_schema()
         and c.relkind in ('r', 'p', 'v', 'm')
         and a.attnum > 0
         and not a.attisdropped
       order by c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, { name: string; isView: boolean; schema: string; columns: TableMetadata['columns'][number][] }>();
    for (const row of result.rows) {
      if (!options.withInternalKyselyTables && migratorTables.has(row.table_name)) continue;
      let table = tables.get(row.table_name);
      if (!table) {
        table = { name: row.table_name, isView: row.is_view, schema: row.schema_name, columns: [] };
        tables.set(row.table_name, table);
      }
      table.columns.push({
        name: row.column_name,
        dataType: row.data_type,
        dataTypeSchema: row.data_type_schema,
        isNullable: !row.not_null,
        isAutoIncrementing: row.auto_incrementing,
        hasDefaultValue: row.has_default,
        ...(row.comment === null ? {} : { comment: row.comment }),
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: { withInternalKyselyTables?: boolean }): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}
