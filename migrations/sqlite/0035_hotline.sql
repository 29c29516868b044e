-- 12345便民热线 (the city's citizen hotline): work orders imported from the hotline centre's
-- exports, each assigned to a unit; the on-time completion, callback satisfaction and
-- resolution rates per unit, category and city are read from monthly aggregates kept on
-- import. Instants are unix seconds; months 'YYYY-MM' in Beijing time.

-- A source of exports (热线来源) and how its columns map to the order's fields (JSON:
-- field key → the column's header as the source writes it), saved and reused.
create table hotline_source (
    hotline_source_id integer primary key,
    name text not null unique,
    mapping text not null default '{}',
    created_at bigint not null,
    updated_at bigint not null
);

-- Other names the hotline centre gives a unit (承办单位), resolved on import.
create table hotline_alias (
    alias text not null primary key,
    unit_id bigint not null references unit(unit_id),
    created_at bigint not null
);
create index hotline_alias_unit on hotline_alias(unit_id);

-- One import of a file: all its rows or none.
create table hotline_import (
    hotline_import_id integer primary key,
    hotline_source_id bigint not null references hotline_source(hotline_source_id),
    file_name text not null default '',
    row_count bigint not null,
    created bigint not null,
    updated bigint not null,
    unchanged bigint not null,
    created_by bigint,
    created_at bigint not null
);

-- A work order (工单), one per order number: importing it again updates it.
-- callback: '' (no callback yet) | satisfied | basic | dissatisfied | unreached.
-- resolved: what the callback says (1 resolved, 0 not), null when it says nothing.
-- reopened: how many times the order was sent back for handling again (重办).
-- The months (Beijing time) are kept beside the instants: what an order counts in.
create table hotline_order (
    hotline_order_id integer primary key,
    order_no text not null unique,
    hotline_source_id bigint not null references hotline_source(hotline_source_id),
    hotline_import_id bigint,
    unit_id bigint not null references unit(unit_id),
    unit_text text not null default '',
    title text not null default '',
    received_at bigint not null,
    deadline bigint not null,
    closed_at bigint,
    reopened bigint not null default 0,
    callback text not null default '',
    resolved bigint,
    received_month text not null,
    due_month text not null,
    closed_month text,
    created_at bigint not null,
    updated_at bigint not null
);
-- A list behind a figure selects a range of one of the instants (a month range is a range
-- of instants) and pages in that instant's order: each index answers a page without a sort.
create index hotline_order_unit_received on hotline_order(unit_id, received_at);
create index hotline_order_unit_deadline on hotline_order(unit_id, deadline);
create index hotline_order_unit_closed on hotline_order(unit_id, closed_at);
create index hotline_order_received on hotline_order(received_at);
create index hotline_order_deadline on hotline_order(deadline);
create index hotline_order_closed on hotline_order(closed_at);

-- Per unit and month, kept on import: orders received in the month; due in it (deadline)
-- and of those closed by the deadline; closed in it and of those with the callback
-- reached, satisfied or basically satisfied, saying whether it was resolved and resolved,
-- and reopened.
create table hotline_month (
    unit_id bigint not null,
    month text not null,
    received bigint not null default 0,
    due bigint not null default 0,
    on_time bigint not null default 0,
    closed bigint not null default 0,
    reached bigint not null default 0,
    satisfied bigint not null default 0,
    resolved_known bigint not null default 0,
    resolved bigint not null default 0,
    reopened bigint not null default 0,
    primary key (unit_id, month)
);
create index hotline_month_month on hotline_month(month);

insert into data_version (name, version) values ('hotline', 0);
-- Every write of orders comes with an import row and moves the aggregates; the figures and
-- the lists' counts are cached against this counter.
create trigger hotline_import_version_i after insert on hotline_import begin update data_version set version = version + 1 where name = 'hotline'; end;
create trigger hotline_month_version_i after insert on hotline_month begin update data_version set version = version + 1 where name = 'hotline'; end;
create trigger hotline_month_version_u after update on hotline_month begin update data_version set version = version + 1 where name = 'hotline'; end;
create trigger hotline_month_version_d after delete on hotline_month begin update data_version set version = version + 1 where name = 'hotline'; end;
