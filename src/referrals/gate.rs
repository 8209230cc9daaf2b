//! The gate a new referral passes (SPEC §2.6, §2.7): an active partner that offers the service,
//! a valid consent of the client to share with that very partner, and shared fields within the
//! consent's scope.

use chrono::NaiveDate;

use super::model::ReferralInput;
use super::shared;
use crate::clients::model::ClientRow;
use crate::consents::model::{ConsentPurpose, ConsentScope};
use crate::db::DbConnection;
use crate::domain::bounded_text;
use crate::http::{ApiError, FieldErrors};
use crate::organisations;

/// Checks a new referral: a reason, an active partner offering the service, a valid consent of
/// the client to share with that partner (422 `consent_required`), and shared fields within the
/// consent's scope. Returns the reason and the shared fields, without repeats.
pub fn check(
    conn: &mut DbConnection,
    client: &ClientRow,
    input: &ReferralInput,
    today: NaiveDate,
) -> Result<(String, Vec<String>), ApiError> {
    let mut errors = FieldErrors::default();
    let reason = errors.check("reason", bounded_text(&input.reason, 1, 2000));
    match organisations::queries::find(conn, input.to_organisation_id)? {
        Some(partner) if partner.active && partner.id != client.organisation_id => {
            if !partner.services.contains(&input.service) {
                errors.add("service", "the partner does not offer this service");
            }
        }
        _ => errors.add("to_organisation_id", "is not an active partner organisation"),
    }
    let scope: Vec<ConsentScope> = match crate::consents::queries::find(conn, client.id, input.consent_id)? {
        Some(consent)
            if consent.is_valid_on(today)
                && consent.purpose == ConsentPurpose::SharingWithPartner
                && consent.partner_id == Some(input.to_organisation_id) =>
        {
            consent.scope
        }
        _ => {
            return Err(ApiError::unprocessable(
                "consent_required",
                "The client has no valid consent to share with this partner: record one first.",
            ));
        }
    };
    let shared_fields = errors.check("shared_fields", shared::check(&input.shared_fields, &scope));
    errors.finish(|| Some((reason?, shared_fields?)))
}
