-- An election before the current term is due (提前换届) needs the higher organisation's
-- approval: its document number is kept with the term it opened, on the org while the term
-- runs and in the history once it is closed. Terms opened before this column: ''.
alter table org add column term_early_doc text not null default '';
alter table org_term add column term_early_doc text not null default '';
