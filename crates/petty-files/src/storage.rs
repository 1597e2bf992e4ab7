//! Where stored files' bytes live: one [`Storage`] over `object_store`, a local folder (the
//! default, under the data directory) or an S3 bucket (AWS or anything that speaks its
//! protocol: endpoint, bucket, region, keys and plain HTTP are configurable). Keys are the
//! slash-separated names `petty_core::files` makes (`uploads/<id>/<name>`, `files/<id>/<name>`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::signer::{HeaderValue, Method, SignedUrlOptions, Signer};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Which store, and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageConfig {
    /// A folder on this machine (created if missing).
    Local { root: PathBuf },
    /// An S3 bucket.
    S3(S3Config),
    /// Kept in this process only, gone when it stops (tests and examples).
    Memory,
}

/// An S3 bucket and the credentials for it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `https://s3.eu-west-1.amazonaws.com`, or another service's address; `None`: AWS's own
    /// for the region.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    /// `None`: from the environment (`AWS_ACCESS_KEY_ID`, ...) or the instance's role.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow an `http://` endpoint (a service on the same machine or network).
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "(hidden)"))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// What can go wrong with stored bytes.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Nothing is stored under that key.
    #[error("no stored object at {0}")]
    NotFound(String),
    /// The configuration cannot work (a missing bucket name, a folder that cannot be made).
    #[error("file storage is not usable: {0}")]
    Config(String),
    /// The store did not do what was asked (unreachable, refused, out of space).
    #[error("file storage failed: {0}")]
    Backend(String),
}

impl StorageError {
    fn from_store(key: &str, e: object_store::Error) -> StorageError {
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound(key.to_owned()),
            other => StorageError::Backend(other.to_string()),
        }
    }
}

/// The store files are kept in. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Storage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
enum Inner {
    Store {
        store: Arc<dyn ObjectStore>,
        /// S3 signs upload URLs; a local folder cannot.
        signer: Option<Arc<AmazonS3>>,
        label: String,
    },
    /// The configuration did not work: every call says why.
    Unusable(String),
}

impl Storage {
    /// Opens the configured store: creates a local folder if it is missing; checks an S3
    /// configuration without reaching the service.
    pub fn open(config: &StorageConfig) -> Result<Storage, StorageError> {
        let (store, signer, label): (Arc<dyn ObjectStore>, Option<Arc<AmazonS3>>, String) = match config {
            StorageConfig::Local { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| StorageError::Config(format!("could not create {}: {e}", root.display())))?;
                let local = LocalFileSystem::new_with_prefix(root)
                    .map_err(|e| StorageError::Config(format!("{}: {e}", root.display())))?
                    .with_automatic_cleanup(true);
                (Arc::new(local), None, format!("the folder {}", root.display()))
            }
            StorageConfig::S3(s3) => {
                if s3.bucket.trim().is_empty() {
                    return Err(StorageError::Config("storage.s3_bucket is required for S3 storage".into()));
                }
                // reqwest is built with rustls and no provider of its own: the process's (ring).
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_allow_http(s3.allow_http);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
                    builder = builder.with_access_key_id(id).with_secret_access_key(secret);
                }
                let s3_store = Arc::new(builder.build().map_err(|e| StorageError::Config(e.to_string()))?);
                let label = format!("the S3 bucket {} at {}", s3.bucket, s3.endpoint.as_deref().unwrap_or("AWS"));
                (s3_store.clone(), Some(s3_store), label)
            }
            StorageConfig::Memory => (Arc::new(InMemory::new()), None, "memory".to_owned()),
        };
        Ok(Storage { inner: Arc::new(Inner::Store { store, signer, label }) })
    }

    /// A store that refuses everything, saying `why` (for a configuration that did not open:
    /// the rest of Petty works, and uploads say what is wrong).
    pub fn unusable(why: impl Into<String>) -> Storage {
        Storage { inner: Arc::new(Inner::Unusable(why.into())) }
    }

    /// Where the bytes go, for logs.
    pub fn label(&self) -> &str {
        match &*self.inner {
            Inner::Store { label, .. } => label,
            Inner::Unusable(why) => why,
        }
    }

    /// Whether upload URLs are the store's own (S3's presigned URLs) rather than Petty's.
    pub fn presigns(&self) -> bool {
        matches!(&*self.inner, Inner::Store { signer: Some(_), .. })
    }

    fn store(&self) -> Result<&Arc<dyn ObjectStore>, StorageError> {
        match &*self.inner {
            Inner::Store { store, .. } => Ok(store),
            Inner::Unusable(why) => Err(StorageError::Config(why.clone())),
        }
    }

    fn path(key: &str) -> Result<Path, StorageError> {
        Path::parse(key).map_err(|e| StorageError::Backend(format!("{key:?} is not a storage key: {e}")))
    }

    /// Stores `bytes` under `key`, replacing what was there; all or nothing.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store()?
            .put(&Self::path(key)?, PutPayload::from(bytes))
            .await
            .map_err(|e| StorageError::from_store(key, e))?;
        Ok(())
    }

    /// The whole object (uploads are at most a few MiB).
    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        let result = self.store()?.get(&Self::path(key)?).await.map_err(|e| StorageError::from_store(key, e))?;
        result.bytes().await.map_err(|e| StorageError::from_store(key, e))
    }

    /// The object's size and its bytes as they come, for serving it.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes, StorageError>>), StorageError> {
        let result = self.store()?.get(&Self::path(key)?).await.map_err(|e| StorageError::from_store(key, e))?;
        let size = result.meta.size;
        let owned = key.to_owned();
        let stream = result.into_stream().map(move |chunk| chunk.map_err(|e| StorageError::from_store(&owned, e)));
        Ok((size, stream.boxed()))
    }

    /// The object's size, or `None` when nothing is stored under `key`.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self.store()?.head(&Self::path(key)?).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(StorageError::from_store(key, e)),
        }
    }

    /// Removes the object; one that is not there is already removed.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store()?.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StorageError::from_store(key, e)),
        }
    }

    /// An S3 presigned `PUT` URL for `key`, valid for `ttl`, that takes only `content_type`
    /// and, when `size` is given, exactly that many bytes (both signed into the URL); `None`
    /// for a store that cannot presign (a local folder: Petty's own one-time URL is used).
    pub async fn presigned_put(
        &self,
        key: &str,
        content_type: &str,
        size: Option<u64>,
        ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        let Inner::Store { signer: Some(signer), .. } = &*self.inner else {
            self.store()?;
            return Ok(None);
        };
        let header = |v: String| HeaderValue::from_str(&v).map_err(|e| StorageError::Backend(e.to_string()));
        let mut options = SignedUrlOptions::default().with_signed_header(
            object_store::signer::HeaderName::from_static("content-type"),
            header(content_type.to_owned())?,
        );
        if let Some(size) = size {
            options = options.with_signed_header(
                object_store::signer::HeaderName::from_static("content-length"),
                header(size.to_string())?,
            );
        }
        let url = signer
            .signed_url_opts(Method::PUT, &Self::path(key)?, ttl, &options)
            .await
            .map_err(|e| StorageError::from_store(key, e))?;
        Ok(Some(url.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_folder_keeps_replaces_and_forgets() {
        let root = std::env::temp_dir().join(format!("petty-files-{}", std::process::id()));
        let storage = Storage::open(&StorageConfig::Local { root: root.clone() }).unwrap();
        assert!(!storage.presigns());
        let key = "uploads/0190a6f2-8b3c-7def-8123-456789abcdef/a.png";
        assert_eq!(storage.size(key).await.unwrap(), None);
        storage.put(key, Bytes::from_static(b"first")).await.unwrap();
        storage.put(key, Bytes::from_static(b"second")).await.unwrap();
        assert_eq!(storage.get(key).await.unwrap(), Bytes::from_static(b"second"));
        assert_eq!(storage.size(key).await.unwrap(), Some(6));
        assert!(root.join(key).exists(), "under the configured folder");
        storage.delete(key).await.unwrap();
        storage.delete(key).await.unwrap();
        assert!(matches!(storage.get(key).await, Err(StorageError::NotFound(_))));
        assert_eq!(storage.presigned_put(key, "image/png", None, Duration::from_secs(60)).await.unwrap(), None);
        let _ = std::fs::remove_dir_all(root);
    }

    #[tokio::test]
    async fn an_unusable_store_says_why() {
        let storage = Storage::unusable("storage.s3_bucket is required");
        let Err(StorageError::Config(why)) = storage.put("a/b", Bytes::new()).await else { panic!() };
        assert!(why.contains("s3_bucket"));
        assert!(
            Storage::open(&StorageConfig::S3(S3Config {
                endpoint: None,
                bucket: " ".into(),
                region: "us-east-1".into(),
                access_key_id: None,
                secret_access_key: None,
                allow_http: false,
            }))
            .is_err()
        );
    }
}
