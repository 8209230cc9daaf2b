//! The HTTP API, tested through real requests against a real database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod agenda;
mod appointments;
mod audit;
mod auth;
mod bad_input;
mod cli;
mod clients;
mod documents;
mod export_archive;
mod grants;
mod idempotency;
mod interpreters;
mod matrix;
mod merge;
mod names;
mod notifications;
mod organisations;
mod plumbing;
mod privacy;
mod procedure;
mod referrals;
mod reports;
mod seed;
mod sessions;
mod tasks;
mod tier;
mod users;
mod webhooks;
