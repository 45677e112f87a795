-- Row-level security: every tenant-owned table only shows rows of the tenant set on the connection.

ALTER TABLE projects ADD COLUMN tenant_id uuid;
ALTER TABLE documents ADD COLUMN tenant_id uuid;
ALTER TABLE api_tokens ADD COLUMN tenant_id uuid;

UPDATE projects SET tenant_id = '00000000-0000-0000-0000-000000000001';
UPDATE documents d SET tenant_id = p.tenant_id FROM projects p WHERE p.id = d.project_id;
UPDATE api_tokens SET tenant_id = '00000000-0000-0000-0000-000000000001';

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON projects
    USING (tenant_id = current_setting('app.tenant_id')::uuid);
CREATE POLICY tenant_isolation ON documents
    USING (tenant_id = current_setting('app.tenant_id')::uuid);
CREATE POLICY tenant_isolation ON api_tokens
    USING (tenant_id = current_setting('app.tenant_id', true)::uuid);

CREATE INDEX CONCURRENTLY ix_documents_tenant ON documents (tenant_id, project_id);
