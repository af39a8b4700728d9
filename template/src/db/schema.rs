//! The database schema, written once with portable diesel types so it holds for
//! every supported database. Keep it in step with `migrations/`.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        name -> Text,
        is_admin -> Bool,
        is_active -> Bool,
        email_verified_at -> Nullable<Timestamp>,
        last_login_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        failed_login_count -> Integer,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// One row of running totals, kept exact by triggers on `users`.
    user_counts (id) {
        id -> Integer,
        total -> BigInt,
        active -> BigInt,
        admins -> BigInt,
        disabled -> BigInt,
        unverified -> BigInt,
    }
}

diesel::table! {
    /// Sign-ups and latest sign-ins per day, kept exact by triggers on `users`.
    daily_user_counts (day) {
        day -> Date,
        signups -> BigInt,
        last_sign_ins -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        key_hash -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        idle_expires_at -> Timestamp,
        absolute_expires_at -> Timestamp,
    }
}

diesel::table! {
    verification_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        attempts -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        consumed_at -> Nullable<Timestamp>,
        browser_hash -> Nullable<Text>,
        new_email -> Nullable<Text>,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox_messages (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        locked_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        kind -> Text,
        claim_token -> Nullable<Text>,
        priority -> SmallInt,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::table! {
    audit_events (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_email -> Text,
        action -> Text,
        target_id -> Nullable<BigInt>,
        target_email -> Nullable<Text>,
        ip -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    trusted_devices (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        failed_login_count -> Integer,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
    }
}

diesel::table! {
    rate_limit_hits (bucket, window_start) {
        bucket -> Text,
        window_start -> Timestamp,
        hits -> BigInt,
    }
}

diesel::table! {
    /// A user's authenticator app; `enabled_at` is NULL while enrolling.
    two_factor (user_id) {
        user_id -> BigInt,
        secret_sealed -> Text,
        enabled_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    passkeys (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        credential_key -> Text,
        user_handle -> Text,
        credential -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    passkey_challenges (nonce_hash) {
        nonce_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(verification_codes -> users (user_id));
diesel::joinable!(trusted_devices -> users (user_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(outbox_messages -> users (user_id));
diesel::joinable!(two_factor -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(passkeys -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    verification_codes,
    password_reset_tokens,
    outbox_messages,
    audit_events,
    trusted_devices,
    two_factor,
    recovery_codes,
    passkeys,
    passkey_challenges,
);
