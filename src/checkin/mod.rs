//! 扫码签到: one sign-in mechanism for org-life meetings and volunteer activities.
//!
//! The organiser (a branch admin at a 三会一课 meeting, a community at an activity) opens a
//! sign-in of the target and shows its QR code on a phone or a projector. The code is a keyed
//! hash of the sign-in and the current window of [`rules::WINDOW_SECONDS`], redrawn by the
//! page every few seconds: a photo forwarded to someone absent is stale before it arrives.
//! A member scans it with the phone's camera while logged in; the feature that owns the
//! target decides whether this member may sign in ([`Kind::admit`]: a member of the meeting's
//! branch, a member who claimed the activity) and the sign-in is recorded once per target,
//! direction and member. The target's record (a meeting's attendance, an activity's
//! confirmation) is pre-filled from these rows and confirmed by the organiser.
//!
//! Features declare their kinds of target in `Feature::checkin`; this module names none.

pub mod api;
pub mod pages;
pub mod rules;
pub mod store;

use std::future::Future;
use std::pin::Pin;

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;

pub use rules::Direction;

/// What the organiser signs people in to, as its feature describes it.
#[derive(Clone, Debug)]
pub struct Target {
    /// "第一党支部 · 主题党日（2026-12-07）"
    pub title: String,
    /// The target's own page.
    pub back: String,
    /// Who may sign in, `(member_id, name)`, in the order to list them.
    pub expected: Vec<(i64, String)>,
    /// What the organiser does next with the sign-ins, `(label, link)`: "按签到填写出席情况".
    pub next: Vec<(String, String)>,
}

pub type TargetFuture<'a> = Pin<Box<dyn Future<Output = AppResult<Target>> + Send + 'a>>;
/// The target `id` as its organiser `user` sees it; refuses (403/404, or a Chinese reason)
/// anyone who may not run its sign-in, and a target that can no longer take one.
pub type TargetFn = for<'a> fn(&'a AppState, &'a CurrentUser, i64) -> TargetFuture<'a>;

/// Who signs in, and to what, as the member is told.
#[derive(Clone, Debug)]
pub struct Admitted {
    pub member_id: i64,
    pub title: String,
}

pub type AdmitFuture<'a> = Pin<Box<dyn Future<Output = AppResult<Admitted>> + Send + 'a>>;
/// The member of `user` who may sign in to target `id` in `direction`, with the target's
/// title, or a refusal in Chinese ("您不是本支部党员…"). Decides only; the sign-in is
/// recorded by this module.
pub type AdmitFn = for<'a> fn(&'a AppState, &'a CurrentUser, i64, Direction) -> AdmitFuture<'a>;

pub type RecordedFuture<'a> = Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>;
/// Called as a sign-in is newly recorded `(connection, target, member, direction, at)`, inside
/// the transaction that records it, for a feature that keeps the times on its own record as
/// well: both are kept or neither.
pub type RecordedFn =
    for<'a> fn(&'a mut sqlx::AnyConnection, i64, i64, Direction, i64) -> RecordedFuture<'a>;

/// A kind of target a feature signs people in to.
pub struct Kind {
    /// Stored with each sign-in: `meeting`, `need`.
    pub key: &'static str,
    /// "会议", "志愿服务活动"
    pub label: &'static str,
    /// Whether the organiser may also open a sign-out (activities, whose hours run from
    /// sign-in to sign-out).
    pub sign_out: bool,
    pub target: TargetFn,
    pub admit: AdmitFn,
    pub recorded: Option<RecordedFn>,
}

static KINDS: std::sync::OnceLock<Vec<&'static Kind>> = std::sync::OnceLock::new();

/// Sets the kinds the features declare, once at start.
pub fn install(kinds: Vec<&'static Kind>) {
    let _ = KINDS.set(kinds);
}

pub fn kind(key: &str) -> Option<&'static Kind> {
    KINDS.get()?.iter().copied().find(|k| k.key == key)
}

pub fn pages() -> axum::Router<AppState> {
    pages::routes()
}

pub fn api() -> utoipa_axum::router::OpenApiRouter<AppState> {
    api::routes()
}

pub const AUDIT_LABELS: &[(&str, &str)] = &[
    ("checkin_session", "扫码签到"),
    ("checkin.open", "开启扫码签到"),
    ("checkin.close", "结束扫码签到"),
];
