use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub auth_cache: Arc<crate::auth::cache::AuthCache>,
    /// The security policy in force, re-read every few seconds.
    pub policy: Arc<crate::auth::policy::PolicyCache>,
    /// Organizational-life figures per year, valid while the data version holds.
    pub orglife_stats: Arc<crate::orglife::store::StatsCache>,
    /// Keys for personal data at rest, loaded once from the key file (see `crypto`).
    pub keys: Arc<crate::crypto::KeyRing>,
}
