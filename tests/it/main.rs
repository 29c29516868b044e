//! Integration tests: the real app over HTTP, on SQLite by default and on PostgreSQL
//! when YAOSHI_TEST_DATABASE_URL is set.

mod access;
mod approvals;
mod archive;
mod assessment;
mod auth;
mod backup;
mod checkin;
mod common;
mod crypto;
mod establishment;
mod fuzzing;
mod grading;
mod guidance;
mod hotline;
mod import;
mod indicators;
mod ledger_crash;
mod notify;
mod ops;
mod orglife;
mod pages;
mod pledges;
mod registry;
mod rules_edges;
mod security;
mod throttle;
mod volunteer;
mod web_use;
