/** Hasura projects on disk, in the layouts the Hasura CLI writes, for the import tests. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Writes files (path relative to a fresh folder: content) and returns the folder. */
export function writeProject(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'pget-hasura-project-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
  return root;
}

const USERS_TABLE = `table:
  name: users
  schema: public
select_permissions:
  - role: user
    permission:
      columns: '*'
      filter:
        id:
          _eq: X-Hasura-User-Id
event_triggers:
  - name: user_changes
    definition:
      enable_manual: true
      insert:
        columns: '*'
      update:
        columns:
          - name
    retry_conf:
      interval_sec: 10
      num_retries: 3
      timeout_sec: 60
    webhook: '{{HOOK_BASE}}/users'
    headers:
      - name: X-Secret
        value_from_env: HOOK_SECRET
`;

const ORDERS_TABLE = `table:
  name: orders
  schema: app
event_triggers:
  - name: order_created
    definition:
      enable_manual: false
      insert:
        columns: '*'
        payload: [id, total]
    retry_conf:
      interval_sec: 5
      num_retries: 1
      timeout_sec: 30
    webhook_from_env: ORDERS_HOOK
`;

/** A project of the Hasura CLI's config v3 (Hasura 2): includes as quoted strings and as a YAML tag. */
export const CONFIG_V3: Record<string, string> = {
  'config.yaml': 'version: 3\nendpoint: http://localhost:8080\nmetadata_directory: metadata\n',
  'metadata/version.yaml': 'version: 3\n',
  'metadata/actions.yaml': 'actions: []\ncustom_types:\n  enums: []\n  input_objects: []\n  objects: []\n  scalars: []\n',
  'metadata/actions.graphql': '',
  'metadata/allow_list.yaml': '[]\n',
  'metadata/cron_triggers.yaml': '[]\n',
  'metadata/query_collections.yaml': '[]\n',
  'metadata/remote_schemas.yaml': '- name: countries\n  definition:\n    url: https://countries.example/graphql\n',
  'metadata/databases/databases.yaml': `- name: default
  kind: postgres
  configuration:
    connection_info:
      database_url:
        from_env: HASURA_GRAPHQL_DATABASE_URL
      isolation_level: read-committed
  tables: "!include default/tables/tables.yaml"
  functions: "!include default/functions/functions.yaml"
`,
  'metadata/databases/default/functions/functions.yaml': '[]\n',
  'metadata/databases/default/tables/tables.yaml':
    '- "!include public_users.yaml"\n- !include app_orders.yaml\n- "!include public_audit.yaml"\n',
  'metadata/databases/default/tables/public_users.yaml': USERS_TABLE,
  'metadata/databases/default/tables/app_orders.yaml': ORDERS_TABLE,
  'metadata/databases/default/tables/public_audit.yaml': 'table:\n  name: audit\n  schema: public\n',
};

/** A project of config v2 (Hasura 1.x): metadata/tables.yaml holds every table. */
export const CONFIG_V2: Record<string, string> = {
  'config.yaml': 'version: 2\nendpoint: http://localhost:8080\nmetadata_directory: metadata\n',
  'metadata/version.yaml': 'version: 2\n',
  'metadata/functions.yaml': '[]\n',
  'metadata/actions.yaml': 'actions: []\ncustom_types: {}\n',
  'metadata/tables.yaml': `- ${USERS_TABLE.replaceAll('\n', '\n  ').trimEnd()}\n- ${ORDERS_TABLE.replaceAll('\n', '\n  ').trimEnd()}\n`,
};
