//! Invented data for demonstrations and load tests (`casebridge seed`): a small named
//! consortium with a user of every role (`--demo`), or synthetic clients at benchmark scale in
//! one organisation (`--clients N`), optionally with their counseling sessions
//! (`--sessions-per-client M`). Everything goes through the same parsing, index rows and
//! deadline derivation as data entered through the API. Never for a production database.

pub mod demo;
pub mod people;
pub mod sessions;
pub mod synthetic;
pub mod timeline;

use secrecy::ExposeSecret;

pub use demo::{DemoReport, DemoUser, demo};
pub use sessions::SessionTally;
pub use synthetic::{SyntheticOptions, SyntheticReport, synthetic};

/// The demo users and their passwords as a plain-text table, to be printed once.
pub fn credentials_table(users: &[DemoUser]) -> String {
    let rows: Vec<[String; 4]> = users
        .iter()
        .map(|user| {
            [
                user.email.clone(),
                user.role.code().to_owned(),
                user.organisation.clone().unwrap_or_else(|| "-".to_owned()),
                user.enrolment_token.expose_secret().to_owned(),
            ]
        })
        .collect();
    let header = ["email", "role", "organisation", "enrolment token"].map(str::to_owned);
    let widths: Vec<usize> = (0..4)
        .map(|column| rows.iter().chain([&header]).map(|row| row[column].chars().count()).max().unwrap_or_default())
        .collect();
    let line = |row: &[String; 4]| -> String {
        let cells: Vec<String> =
            row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}", width = *width)).collect();
        cells.join("  ").trim_end().to_owned()
    };
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    let mut table = vec![line(&header), rule.join("  ")];
    table.extend(rows.iter().map(line));
    table.join("\n") + "\n"
}
