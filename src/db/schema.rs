// The one schema both databases share (see migrations/postgres and migrations/sqlite).

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        short_name -> Text,
        short_name_key -> Text,
        cities -> Text,
        services -> Text,
        contact_email -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        organisation_id -> Nullable<Text>,
        email -> Text,
        email_key -> Text,
        display_name -> Text,
        role -> Text,
        specialties -> Text,
        active -> Bool,
        password_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    enrolment_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        issued_by -> Nullable<Text>,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    specialty_grants (id) {
        id -> Text,
        organisation_id -> Text,
        user_id -> Text,
        specialty -> Text,
        status -> Text,
        requested_by -> Text,
        requested_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        account_key -> Text,
        ip -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        action -> Text,
        resource -> Text,
        resource_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        outcome -> Text,
        request_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        tier -> Nullable<Text>,
    }
}

diesel::table! {
    audit_links (chain_index) {
        chain_index -> BigInt,
        event_id -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_pending (seq) {
        seq -> BigInt,
        event_id -> Text,
    }
}

diesel::table! {
    reference_counters (organisation_id, year) {
        organisation_id -> Text,
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        organisation_id -> Text,
        reference -> Text,
        given_names -> Text,
        family_name -> Text,
        native_name -> Nullable<Text>,
        aliases -> Text,
        date_of_birth -> Nullable<Date>,
        birth_year -> Nullable<Integer>,
        sex -> Text,
        nationalities -> Text,
        region_of_origin -> Nullable<Text>,
        languages -> Text,
        interpreter_needed -> Bool,
        city -> Nullable<Text>,
        city_key -> Nullable<Text>,
        accommodation -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        vulnerabilities -> Text,
        identifiers -> Text,
        household_id -> Nullable<Text>,
        household_relationship -> Nullable<Text>,
        status -> Text,
        closed_reason -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        assigned_counselor_id -> Nullable<Text>,
        procedure_stage -> Nullable<Text>,
        name_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    client_name_tokens (client_id, token) {
        client_id -> Text,
        organisation_id -> Text,
        token -> Text,
    }
}

diesel::table! {
    client_merges (duplicate_id) {
        duplicate_id -> Text,
        survivor_id -> Text,
        organisation_id -> Text,
        merged_by -> Nullable<Text>,
        merged_at -> Timestamp,
    }
}

diesel::table! {
    deadline_rules_state (id) {
        id -> Integer,
        rules -> Text,
        resume_after -> Nullable<Text>,
    }
}

diesel::table! {
    name_index_state (id) {
        id -> Integer,
        key_version -> Integer,
        resume_after -> Nullable<Text>,
    }
}

diesel::table! {
    client_name_keys (client_id, key) {
        client_id -> Text,
        organisation_id -> Text,
        key -> Text,
    }
}

diesel::table! {
    client_tags (client_id, kind, value) {
        client_id -> Text,
        organisation_id -> Text,
        kind -> Text,
        value -> Text,
    }
}

diesel::table! {
    client_identifiers (client_id, kind, value_key) {
        client_id -> Text,
        organisation_id -> Text,
        kind -> Text,
        value_key -> Text,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        client_id -> Text,
        organisation_id -> Text,
        purpose -> Text,
        partner_id -> Nullable<Text>,
        scope -> Text,
        given_on -> Date,
        expires_on -> Nullable<Date>,
        withdrawn_on -> Nullable<Date>,
        withdrawn_by -> Nullable<Text>,
        language -> Text,
        form_version -> Text,
        recorded_by -> Nullable<Text>,
        created_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    procedure_events (id) {
        id -> Text,
        client_id -> Text,
        organisation_id -> Text,
        kind -> Text,
        occurred_on -> Date,
        delivered_on -> Nullable<Date>,
        authority -> Nullable<Text>,
        outcome -> Nullable<Text>,
        notes -> Nullable<Text>,
        recorded_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    deadlines (id) {
        id -> Text,
        client_id -> Text,
        organisation_id -> Text,
        rule_code -> Text,
        rule_version -> Integer,
        trigger_event_id -> Text,
        due_on -> Date,
        closed_by_event_id -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (actor_id, key_hash) {
        actor_id -> Text,
        key_hash -> Text,
        request_hash -> Text,
        status -> Integer,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        created_at -> Timestamp,
        resource_id -> Text,
    }
}

diesel::table! {
    client_keys (client_id) {
        client_id -> Text,
        master_key_id -> Text,
        wrapped_key -> Binary,
        created_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        organisation_id -> Text,
        client_id -> Text,
        counselor_id -> Text,
        kind -> Text,
        mode -> Text,
        city -> Nullable<Text>,
        started_at -> Timestamp,
        duration_minutes -> Integer,
        language -> Nullable<Text>,
        interpreter_used -> Bool,
        /// Plaintext of databases older than the sealed details: emptied ("[]") at start-up,
        /// never written otherwise; a later migration drops it.
        topics -> Text,
        /// As `topics`: always NULL after start-up.
        summary -> Nullable<Text>,
        notes_ciphertext -> Nullable<Binary>,
        follow_up_on -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        /// Summary and topics, sealed with the client's data key.
        details_ciphertext -> Nullable<Binary>,
    }
}

diesel::table! {
    session_participants (session_id, client_id) {
        session_id -> Text,
        client_id -> Text,
        attended -> Bool,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        client_id -> Text,
        from_organisation_id -> Text,
        to_organisation_id -> Text,
        service -> Text,
        urgency -> Text,
        reason -> Text,
        shared_fields -> Text,
        consent_id -> Text,
        status -> Text,
        status_reason_code -> Nullable<Text>,
        status_reason -> Nullable<Text>,
        respond_by -> Date,
        partner_client_id -> Nullable<Text>,
        outcome -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        declined_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        expired_at -> Nullable<Timestamp>,
        version -> Integer,
        partner_client_created -> Bool,
    }
}

diesel::table! {
    referral_events (id) {
        id -> Text,
        position -> BigInt,
        referral_id -> Text,
        from_organisation_id -> Text,
        to_organisation_id -> Text,
        kind -> Text,
        actor_id -> Nullable<Text>,
        at -> Timestamp,
        reason_code -> Nullable<Text>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    referral_feed (id) {
        id -> Integer,
        position -> BigInt,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        organisation_id -> Text,
        client_id -> Text,
        kind -> Text,
        title -> Text,
        issued_on -> Nullable<Date>,
        language -> Nullable<Text>,
        procedure_event_id -> Nullable<Text>,
        consent_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        psychological -> Bool,
        session_counselor_id -> Nullable<Text>,
        sha256 -> Text,
        size_bytes -> BigInt,
        content_type -> Text,
        chunk_size -> Integer,
        storage_key -> Text,
        uploaded_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<Text>,
        purge_after -> Nullable<Timestamp>,
        bytes_destroyed_at -> Nullable<Timestamp>,
        /// The client whose data key seals the content, when not `client_id` (a merged duplicate's).
        key_client_id -> Nullable<Text>,
    }
}

diesel::table! {
    referral_documents (referral_id, document_id) {
        referral_id -> Text,
        document_id -> Text,
    }
}

diesel::table! {
    interpreters (id) {
        id -> Text,
        name -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        languages -> Text,
        cities -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    interpreter_organisations (interpreter_id, organisation_id) {
        interpreter_id -> Text,
        organisation_id -> Text,
    }
}

diesel::table! {
    appointments (id) {
        id -> Text,
        organisation_id -> Text,
        counselor_id -> Text,
        client_id -> Text,
        kind -> Text,
        mode -> Text,
        city -> Text,
        location -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        duration_minutes -> Integer,
        language -> Nullable<Text>,
        interpreter_needed -> Bool,
        interpreter_id -> Nullable<Text>,
        status -> Text,
        cancel_reason -> Nullable<Text>,
        session_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    appointment_participants (appointment_id, client_id) {
        appointment_id -> Text,
        client_id -> Text,
    }
}

diesel::table! {
    tasks (id) {
        id -> Text,
        organisation_id -> Text,
        assignee_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        title -> Text,
        due_on -> Date,
        done_at -> Nullable<Timestamp>,
        done_by -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    calendar_feeds (user_id) {
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        window_started_at -> Timestamp,
        fetches -> Integer,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        organisation_id -> Text,
        url -> Text,
        event_types -> Text,
        description -> Nullable<Text>,
        secret_master_key_id -> Text,
        secret_sealed -> Binary,
        active -> Bool,
        disabled_reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Text,
        event_type -> Text,
        subject_id -> Text,
        payload -> Text,
        occurred_at -> Timestamp,
        once_key -> Nullable<Text>,
        fanned_out_at -> Nullable<Timestamp>,
        leased_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Text,
        event_id -> Text,
        webhook_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        last_response_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notification_settings (user_id) {
        user_id -> Text,
        language -> Text,
        email_off -> Text,
    }
}

diesel::joinable!(audit_links -> audit_events (event_id));
diesel::joinable!(audit_pending -> audit_events (event_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(login_sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> login_sessions (session_id));
diesel::joinable!(clients -> organisations (organisation_id));
diesel::joinable!(client_name_tokens -> clients (client_id));
diesel::joinable!(client_name_keys -> clients (client_id));
diesel::joinable!(client_tags -> clients (client_id));
diesel::joinable!(client_identifiers -> clients (client_id));
diesel::joinable!(consents -> clients (client_id));
diesel::joinable!(procedure_events -> clients (client_id));
diesel::joinable!(deadlines -> clients (client_id));
diesel::joinable!(sessions -> clients (client_id));
diesel::joinable!(session_participants -> sessions (session_id));
diesel::joinable!(documents -> clients (client_id));
diesel::joinable!(appointments -> clients (client_id));
diesel::joinable!(appointment_participants -> appointments (appointment_id));
diesel::joinable!(interpreter_organisations -> interpreters (interpreter_id));
diesel::joinable!(deliveries -> outbox_events (event_id));
diesel::joinable!(deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    enrolment_tokens,
    specialty_grants,
    login_sessions,
    refresh_tokens,
    login_failures,
    audit_events,
    audit_links,
    audit_pending,
    reference_counters,
    clients,
    client_name_tokens,
    client_merges,
    client_name_keys,
    name_index_state,
    client_tags,
    client_identifiers,
    consents,
    procedure_events,
    deadlines,
    idempotency_keys,
    client_keys,
    sessions,
    session_participants,
    referrals,
    referral_events,
    referral_feed,
    documents,
    referral_documents,
    interpreters,
    interpreter_organisations,
    appointments,
    appointment_participants,
    tasks,
    calendar_feeds,
    webhooks,
    outbox_events,
    deliveries,
    notification_settings,
);
