-- 应换尽换: the length of a term by org kind (data), extensions, and past terms.
create table term_rule (
    kind text primary key,
    years bigint not null,
    updated_at bigint not null
);
insert into term_rule (kind, years, updated_at) values
    ('committee_org', 5, 0), ('general_branch', 3, 0), ('branch', 3, 0);

-- An approved extension of the current term (at most a year), with its approval document.
alter table org add column term_extended_to text;
alter table org add column term_extension_doc text not null default '';

-- A closed term: written when an election opens the next one.
create table org_term (
    org_term_id integer primary key,
    org_id bigint not null references org(org_id),
    term_start text,
    term_end text,
    term_extended_to text,
    term_extension_doc text not null default '',
    officers_json text not null default '[]',
    closed_on text not null,
    created_by bigint,
    created_at bigint not null
);
create index org_term_org on org_term(org_id, closed_on);
