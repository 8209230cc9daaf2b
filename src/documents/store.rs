//! Where sealed documents are kept, behind one interface: the local filesystem under the data
//! folder (the embedded default) or an S3-compatible object store, which several API instances
//! can share. Object keys are made of ids only; a file's name never reaches the store.

use std::io::Read;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart};

use super::DocumentConfig;
use crate::db::{ClientId, DocumentId};

/// Parts a multipart upload is cut into: S3 takes no part smaller than 5 MiB but the last.
const S3_PART_SIZE: usize = 5 * 1024 * 1024;
const LOCAL_PART_SIZE: usize = 1024 * 1024;
/// Bytes read from a local file per step of a download.
pub const READ_SIZE: usize = 1024 * 1024;

pub struct DocumentStore {
    objects: Arc<dyn ObjectStore>,
    part_size: usize,
}

impl DocumentStore {
    /// `CASEBRIDGE_DOCUMENT_STORE` unset: a `documents` folder in the data folder; `s3://bucket`
    /// or `s3://bucket/prefix`: that bucket, configured by the standard AWS variables.
    pub fn from_config(config: &DocumentConfig) -> anyhow::Result<Self> {
        match &config.store {
            None => {
                let folder = config.data_dir.join("documents");
                std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
                let local = LocalFileSystem::new_with_prefix(&folder)
                    .with_context(|| format!("opening the document folder {}", folder.display()))?
                    .with_automatic_cleanup(true);
                Ok(Self { objects: Arc::new(local), part_size: LOCAL_PART_SIZE })
            }
            Some(url) => {
                let parsed = url::Url::parse(url).context("CASEBRIDGE_DOCUMENT_STORE is not a URL")?;
                anyhow::ensure!(
                    parsed.scheme() == "s3",
                    "CASEBRIDGE_DOCUMENT_STORE must be an s3://bucket/prefix URL (leave it unset for the data folder)"
                );
                let bucket =
                    parsed.host_str().filter(|b| !b.is_empty()).context("CASEBRIDGE_DOCUMENT_STORE names no bucket")?;
                // As `AmazonS3Builder::from_env` does, but from the configuration's variables.
                let mut builder = object_store::aws::AmazonS3Builder::new();
                for (name, value) in &config.s3_settings.0 {
                    if let Ok(key) = name.to_ascii_lowercase().parse::<object_store::aws::AmazonS3ConfigKey>() {
                        builder = builder.with_config(key, value);
                    }
                }
                let s3 = builder.with_bucket_name(bucket).build().context("configuring the S3 document store")?;
                let prefix = parsed.path().trim_matches('/');
                let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, Path::parse(prefix).context("CASEBRIDGE_DOCUMENT_STORE prefix")?))
                };
                Ok(Self { objects, part_size: S3_PART_SIZE })
            }
        }
    }

    /// The object key of a document: its client's id and its own.
    pub fn key_of(client_id: ClientId, document_id: DocumentId) -> String {
        format!("{client_id}/{document_id}")
    }

    fn path(key: &str) -> object_store::Result<Path> {
        Path::parse(key).map_err(|source| object_store::Error::Generic { store: "documents", source: Box::new(source) })
    }

    /// A writer that stores the object only when finished (an aborted one leaves nothing).
    pub async fn writer(&self, key: &str) -> object_store::Result<WriteMultipart> {
        let upload = self.objects.put_multipart(&Self::path(key)?).await?;
        Ok(WriteMultipart::new_with_chunk_size(upload, self.part_size))
    }

    pub async fn read(&self, key: &str) -> object_store::Result<StoredObject> {
        let got = self.objects.get(&Self::path(key)?).await?;
        let size = got.meta.size;
        let stream = match got.payload {
            // object_store reads a local file 8 KiB per blocking call; a download takes larger steps.
            GetResultPayload::File(file, path) => local_file(file, path),
            GetResultPayload::Stream(stream) => stream,
        };
        Ok(StoredObject { size, stream })
    }

    /// Destroys an object; one that is gone already counts as destroyed.
    pub async fn delete(&self, key: &str) -> object_store::Result<()> {
        match self.objects.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// A stored object as it is read: its length, and its bytes a step at a time.
pub struct StoredObject {
    pub size: u64,
    pub stream: BoxStream<'static, object_store::Result<Bytes>>,
}

fn local_file(file: std::fs::File, path: std::path::PathBuf) -> BoxStream<'static, object_store::Result<Bytes>> {
    let failed = move |source: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic {
        store: "documents",
        source: format!("reading {}: {source}", path.display()).into(),
    };
    futures_util::stream::try_unfold(file, move |file| {
        let failed = failed.clone();
        async move {
            let (file, step) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
                let mut step = Vec::with_capacity(READ_SIZE);
                (&file).take(READ_SIZE as u64).read_to_end(&mut step)?;
                Ok((file, step))
            })
            .await
            .map_err(|error| failed(error.into()))?
            .map_err(|error| failed(error.into()))?;
            Ok((!step.is_empty()).then(|| (Bytes::from(step), file)))
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::db::Id;

    fn config(data_dir: &std::path::Path, store: Option<&str>) -> DocumentConfig {
        DocumentConfig {
            data_dir: data_dir.to_path_buf(),
            store: store.map(str::to_owned),
            s3_settings: crate::documents::S3Settings::default(),
            max_bytes: 1024,
            clamd_address: None,
            retention: Duration::from_secs(1),
            purge_interval: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_store_is_chosen_by_configuration() {
        let data = tempfile::tempdir().unwrap();
        let local = DocumentStore::from_config(&config(data.path(), None)).unwrap();
        assert_eq!(local.part_size, LOCAL_PART_SIZE);
        assert!(data.path().join("documents").is_dir(), "the data folder holds the documents");
        let s3 =
            DocumentStore::from_config(&config(data.path(), Some("s3://casebridge-documents/instance-1"))).unwrap();
        assert_eq!(s3.part_size, S3_PART_SIZE);
        assert!(s3.objects.to_string().contains("instance-1"), "{}", s3.objects);
        for wrong in ["ftp://files/x", "documents", "s3:///no-bucket"] {
            assert!(DocumentStore::from_config(&config(data.path(), Some(wrong))).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_s3_settings_show_their_names_but_never_their_values() {
        let settings = crate::documents::S3Settings(vec![("AWS_SECRET_ACCESS_KEY".into(), "s3cr3t-value".into())]);
        let shown = format!("{settings:?}");
        assert!(shown.contains("AWS_SECRET_ACCESS_KEY") && !shown.contains("s3cr3t-value"), "{shown}");
    }

    #[test]
    fn object_keys_are_made_of_ids_only() {
        let (client, document) = (Id::new(), Id::new());
        assert_eq!(DocumentStore::key_of(client, document), format!("{client}/{document}"));
    }
}
