use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::config::Config;
use crate::crypto::KeyRing;
use crate::db::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Keys for personal data at rest, loaded once from the key file (see `crypto`).
    pub keys: Arc<KeyRing>,
    /// What modules keep per app without this one naming their types: caches (the
    /// session cache, the security policy, feature figures) and the registries features
    /// fill at start (navigation, audit labels, daily jobs, home cards).
    ext: Arc<Extensions>,
}

/// A map from a type to its one value in this app, made on first use from `Default`.
#[derive(Default)]
pub struct Extensions(RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl Extensions {
    /// Puts `value` in, replacing what was there.
    pub fn insert<T: Any + Send + Sync>(&self, value: T) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, made from `Default` if there is none yet.
    pub fn get<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        if let Some(v) = self.find::<T>() {
            return v;
        }
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>);
        match entry.clone().downcast::<T>() {
            Ok(v) => v,
            // The key is T's own type id, so the value is a T.
            Err(_) => Arc::new(T::default()),
        }
    }

    fn find<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(&TypeId::of::<T>())
            .and_then(|v| v.clone().downcast::<T>().ok())
    }
}

impl AppState {
    pub fn new(
        db: Db,
        config: Config,
        metrics: metrics_exporter_prometheus::PrometheusHandle,
        keys: KeyRing,
    ) -> AppState {
        AppState {
            db,
            config: Arc::new(config),
            metrics,
            keys: Arc::new(keys),
            ext: Arc::default(),
        }
    }

    /// This app's value of `T` (a cache or a registry), made on first use.
    pub fn ext<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        self.ext.get::<T>()
    }

    /// Sets this app's value of `T`; done once at start for the registries.
    pub fn set_ext<T: Any + Send + Sync>(&self, value: T) {
        self.ext.insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Counter(std::sync::atomic::AtomicU32);

    #[test]
    fn one_value_per_type_made_on_first_use() {
        let ext = Extensions::default();
        ext.get::<Counter>()
            .0
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            ext.get::<Counter>()
                .0
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        ext.insert(Counter(7.into()));
        assert_eq!(
            ext.get::<Counter>()
                .0
                .load(std::sync::atomic::Ordering::Relaxed),
            7
        );
        assert_eq!(*ext.get::<String>(), "");
    }
}
