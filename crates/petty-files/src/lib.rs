//! Petty's stored files below the use cases: where bytes are kept ([`storage`]: a local folder by
//! default, S3 in a cluster, both through `object_store`), what is made of an uploaded image
//! ([`images`]: EXIF orientation applied, every piece of metadata dropped by re-encoding, an
//! optimized copy and a thumbnail), and the virus scanner's client ([`clamd`]: clamd's
//! `INSTREAM` over TCP).
//!
//! Architecture invariant: no rules and no SQL here. What may be uploaded, how big, for which
//! purpose, and the sizes images are fitted into are `petty_core::files`'s; the files' rows are
//! `petty-store`'s; the use cases (upload URLs, confirmation, signed links, deletion, the
//! sweep) are `petty_app::files`. Image work is synchronous and CPU-bound: callers run it off
//! the async threads (`spawn_blocking`).
//!
//! API boundary: [`Storage`], [`StorageConfig`], [`S3Config`], [`StorageError`];
//! [`images::process`], [`images::thumbnail`], [`images::Processed`], [`images::ImageError`];
//! [`clamd::scan`], [`clamd::Verdict`], [`clamd::ScanError`].

pub mod clamd;
pub mod images;
mod storage;

pub use storage::{S3Config, Storage, StorageConfig, StorageError};
