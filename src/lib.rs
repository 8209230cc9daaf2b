//! casebridge: the case-management back end for a consortium of NGOs that help people in the
//! international-protection procedure in Poland.

pub mod agenda;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod consents;
pub mod crypto;
pub mod db;
pub mod documents;
pub mod domain;
pub mod grants;
pub mod health;
pub mod http;
pub mod interpreters;
pub mod jobs;
pub mod openapi;
pub mod organisations;
pub mod policy;
pub mod privacy;
pub mod procedure;
pub mod reference;
pub mod referrals;
pub mod reports;
#[cfg(feature = "seed")]
pub mod seed;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod tasks;
pub mod telemetry;
pub mod users;
