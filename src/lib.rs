//! Yaoshi (钥匙): the working system of a municipal-organs party-building working
//! committee for classified guidance. See docs/ARCHITECTURE.md for the map.

pub mod account;
pub mod apidoc;
pub mod app;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod checkin;
pub mod choice;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod error;
pub mod feature;
pub mod files;
pub mod grading;
pub mod guidance;
pub mod hotline;
pub mod indicators;
pub mod jobs;
pub mod messages;
pub mod notify;
pub mod ops;
pub mod org;
pub mod orglife;
pub mod pledges;
pub mod state;
pub mod system;
pub mod text;
pub mod volunteer;
pub mod web;
pub mod xlsx;
